//! Our SPF evaluations of the benchmark's cases, many times, for counting
//! instructions with callgrind: `spf_profile ROUNDS` (run once with 0 and
//! subtract: that is the setup).

#[path = "../benches/work/spf.rs"]
mod spf_work;

use std::net::IpAddr;
use std::sync::Arc;

use sansmail_auth::spf;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(1000, |r| r.parse().expect("a number of rounds"));
    let zone = spf_work::Zone(spf_work::spf_zone().into_iter().collect());
    let records = Arc::new(spf::RecordCache::new());
    let cases: Vec<(IpAddr, &str)> = spf_work::SPF_CASES
        .iter()
        .map(|(ip, s)| (ip.parse().expect("an address"), *s))
        .collect();
    // Warm the record cache, as the benchmark does before timing.
    for (ip, sender) in &cases {
        spf_work::ours_spf(*ip, sender, &zone, &records);
    }
    let mut passes = 0;
    for _ in 0..rounds {
        for (ip, sender) in &cases {
            passes += usize::from(
                spf_work::ours_spf(*ip, sender, &zone, &records) == spf::SpfResult::Pass,
            );
        }
    }
    println!("{passes}");
}
