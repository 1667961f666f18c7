//! Plans keep RFC 5321 §5.1 order for any MX set, and the same seed gives the same plan.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Zone, answering, config, drive, server};
use proptest::prelude::*;

proptest! {
    #[test]
    fn plans_are_ordered_complete_and_deterministic(
        prefs in proptest::collection::vec(0u16..5, 1..8),
        addressed in proptest::collection::vec(any::<bool>(), 8),
        seed in any::<u64>(),
    ) {
        let mut lines = Vec::new();
        for (i, p) in prefs.iter().enumerate() {
            lines.push(format!("d.example MX {p} h{i}.example"));
            if addressed[i] {
                lines.push(format!("h{i}.example A 192.0.2.{}", i + 1));
            }
        }
        let z = Zone::new(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        let mut c = config(&[server(1)]);
        c.seed = seed;
        let (first, _) = drive("d.example", c.clone(), answering(&z));
        let (again, _) = drive("d.example", c, answering(&z));
        prop_assert_eq!(&first, &again);
        let expected: usize = addressed.iter().take(prefs.len()).filter(|a| **a).count();
        match first {
            Ok(plan) => {
                prop_assert_eq!(plan.hosts.len(), expected);
                prop_assert!(plan.hosts.windows(2).all(|w| w[0].preference <= w[1].preference));
                for h in &plan.hosts {
                    let i: usize = h.name.trim_start_matches('h').trim_end_matches(".example").parse().unwrap();
                    prop_assert_eq!(h.preference, prefs[i]);
                }
            }
            Err(e) => {
                prop_assert_eq!(expected, 0);
                prop_assert!(e.is_permanent());
            }
        }
    }
}

mod mta_sts {
    use proptest::prelude::*;
    use sansmail_mx::mta_sts::{MAX_AGE_LIMIT, Mode, Policy, StsRecord};

    fn host() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){1,3}"
    }

    proptest! {
        /// A policy written and read back is the same policy, and allows
        /// each of its own plain host names.
        #[test]
        fn policies_round_trip(
            mode in prop::sample::select(vec![Mode::Enforce, Mode::Testing, Mode::None]),
            max_age in 0..=MAX_AGE_LIMIT,
            hosts in proptest::collection::vec((host(), any::<bool>()), 1..5),
        ) {
            let mx: Vec<String> = hosts
                .iter()
                .map(|(h, wild)| if *wild { format!("*.{h}") } else { h.clone() })
                .collect();
            let policy = Policy { mode, max_age, mx };
            let text = policy.to_string();
            prop_assert_eq!(Policy::parse(&text), Ok(policy.clone()));
            for (h, wild) in &hosts {
                let name = if *wild { format!("mx7.{h}") } else { h.clone() };
                prop_assert!(policy.allows(&name), "{} in {:?}", name, policy.mx);
            }
        }

        #[test]
        fn records_round_trip(id in "[A-Za-z0-9]{1,32}") {
            let record = StsRecord { id };
            prop_assert_eq!(StsRecord::parse(&record.to_string()), Ok(record));
        }
    }
}
