//! The RFC 7208 test suite (openspf.org, as pyspf publishes it): every
//! scenario's zone answers the check's questions the way pyspf's own test
//! driver answers them, and every test's result (and explanation, where
//! given) must be one the suite accepts. scripts/spf_suite.py fetches it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sansmail_auth::dns::{Answer, QueryKind, Question, Record};
use sansmail_auth::spf::{RecordCache, SpfCheck, Step};
use sansmail_test_support::{require, run};
use serde_json::Value;

/// The suite, fetched and read once for every test in this binary.
fn suite() -> &'static [Value] {
    static SUITE: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SUITE.get_or_init(load_suite)
}

fn load_suite() -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/spf_suite.py");
    let out = run(
        Command::new(require("python3")).arg(script),
        b"",
        Duration::from_secs(300),
    );
    assert!(
        out.status.success(),
        "spf_suite.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8(out.stdout).unwrap();
    let text = std::fs::read_to_string(path.trim()).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn kind_name(kind: QueryKind) -> &'static str {
    match kind {
        QueryKind::Txt => "TXT",
        QueryKind::A => "A",
        QueryKind::Aaaa => "AAAA",
        QueryKind::Mx => "MX",
        QueryKind::Ptr => "PTR",
    }
}

/// The record an entry of the zone gives for the type asked.
fn record(kind: QueryKind, value: &Value) -> Record {
    match kind {
        QueryKind::Txt => Record::Txt(
            value
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s.as_str().unwrap().as_bytes().to_vec())
                .collect(),
        ),
        QueryKind::A => Record::A(value.as_str().unwrap().parse().unwrap()),
        QueryKind::Aaaa => Record::Aaaa(value.as_str().unwrap().parse().unwrap()),
        QueryKind::Mx => Record::Mx {
            preference: value[0].as_u64().unwrap() as u16,
            exchange: value[1].as_str().unwrap().to_owned(),
        },
        QueryKind::Ptr => Record::Ptr(value.as_str().unwrap().to_owned()),
    }
}

/// Answers as pyspf's test driver does: a label over 63 octets or a name
/// under `error.` fails, a TIMEOUT marker fails the types not answered
/// before it, and one CNAME is followed.
fn lookup(zone: &serde_json::Map<String, Value>, q: &Question, follow: bool) -> Answer {
    let labels: Vec<&str> = q.name.split('.').filter(|l| !l.is_empty()).collect();
    if labels.iter().any(|l| l.len() > 63) {
        return Answer::TempFail;
    }
    let name = labels.join(".").to_ascii_lowercase();
    let Some(entries) = zone.get(&name).and_then(Value::as_array) else {
        return if name.starts_with("error.") {
            Answer::TempFail
        } else {
            Answer::NxDomain
        };
    };
    let wanted = kind_name(q.kind);
    let mut found = Vec::new();
    let mut nothing_yet = true;
    for e in entries {
        if e.as_str() == Some("TIMEOUT") {
            if nothing_yet {
                return Answer::TempFail;
            }
            break;
        }
        let kind = e[0].as_str().unwrap();
        if kind == wanted {
            nothing_yet = false;
            if e[1].as_str() == Some("TIMEOUT") {
                return Answer::TempFail;
            }
            found.push(record(q.kind, &e[1]));
        } else if kind == "CNAME" && follow {
            let target = Question {
                name: e[1].as_str().unwrap().to_owned(),
                kind: q.kind,
            };
            match lookup(zone, &target, false) {
                Answer::Records(r) => found.extend(r.iter().cloned()),
                Answer::TempFail => return Answer::TempFail,
                Answer::NxDomain => {}
            }
        }
    }
    Answer::records(found)
}

#[test]
fn every_rfc_7208_suite_test_gives_an_accepted_result() {
    run_suite(None);
}

#[test]
fn the_suite_gives_the_same_with_one_record_cache_shared_by_every_check() {
    // Every scenario's records, good and malformed, through one cache.
    run_suite(Some(std::sync::Arc::new(RecordCache::new())));
}

fn run_suite(cache: Option<std::sync::Arc<RecordCache>>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for scenario in suite() {
        let zone = scenario["zone"].as_object().unwrap();
        for (id, t) in scenario["tests"].as_object().unwrap() {
            let ip: IpAddr = t["host"].as_str().unwrap().parse().unwrap();
            let mut check = SpfCheck::mail_from(
                ip,
                t["mailfrom"].as_str().unwrap(),
                t["helo"].as_str().unwrap(),
            );
            if let Some(cache) = &cache {
                check = check.with_cache(cache.clone());
            }
            let mut asked: HashMap<Question, usize> = HashMap::new();
            let outcome = loop {
                match check.poll() {
                    Step::Lookup(q) => {
                        let n = asked.entry(q.clone()).or_default();
                        *n += 1;
                        assert!(*n == 1, "{id}: asked {q} twice");
                        let answer = lookup(zone, &q, true);
                        check.answer(q, answer);
                    }
                    Step::Done(outcome) => break outcome,
                }
            };
            ran += 1;
            let accepted: Vec<&str> = t["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            let result = outcome.result.to_string();
            if !accepted.contains(&result.as_str()) {
                failures.push(format!(
                    "{id} ({}): {result}, expected {accepted:?} ({:?})",
                    scenario["description"], outcome.problem
                ));
                continue;
            }
            if let Some(expected) = t["explanation"].as_str() {
                let got = outcome.explanation.as_deref().unwrap_or("DEFAULT");
                if got != expected {
                    failures.push(format!("{id}: explanation {got:?}, expected {expected:?}"));
                }
            }
        }
    }
    assert!(ran > 200, "the suite ran {ran} tests");
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
