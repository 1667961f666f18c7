//! Counters, gauges and one histogram for monitoring, written in the
//! Prometheus text format (version 0.0.4) at `/metrics` on the metrics
//! listener (`--metrics ADDR`).
//!
//! The registry is one per process: the services record into it without
//! being handed anything, and the listener renders it with the queue's
//! figures read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// What each metric is, in the order they are written.
const HELP: &[(&str, &str, &str)] = &[
    (
        "sansmail_sessions_total",
        "counter",
        "Connections accepted, per service.",
    ),
    (
        "sansmail_sessions_active",
        "gauge",
        "Connections open now, per service.",
    ),
    (
        "sansmail_connections_refused_total",
        "counter",
        "Connections turned away before their session (too many from one address, locked out).",
    ),
    (
        "sansmail_messages_received_total",
        "counter",
        "Messages at the end of DATA, per service and outcome (accepted or refused).",
    ),
    (
        "sansmail_deliveries_total",
        "counter",
        "Recipient deliveries, per route (local or remote) and outcome (delivered, deferred, failed).",
    ),
    (
        "sansmail_delivery_attempt_seconds",
        "histogram",
        "How long one delivery attempt of a queued message took.",
    ),
    (
        "sansmail_queue_messages",
        "gauge",
        "Messages in the outbound queue (held ones included).",
    ),
    (
        "sansmail_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest message in the outbound queue.",
    ),
    (
        "sansmail_auth_attempts_total",
        "counter",
        "Password checks, per outcome (success or failure).",
    ),
    (
        "sansmail_lockouts_total",
        "counter",
        "Addresses locked out after repeated failed logins.",
    ),
    (
        "sansmail_filter_verdicts_total",
        "counter",
        "Content filter and sender authentication verdicts, per filter and verdict.",
    ),
];

/// Upper bounds of the delivery latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A metric name with its labels, written out (`{a="x",b="y"}`).
type Series = (&'static str, String);

#[derive(Default)]
struct Registry {
    values: BTreeMap<Series, f64>,
    /// Per bucket, then the +Inf count, and the sum.
    latency: ([u64; BUCKETS.len() + 1], f64),
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// `{a="x",b="y"}` with the values escaped as the format asks.
fn label_text(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut out = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{name}=\"{escaped}\"");
    }
    out.push('}');
    out
}

/// Adds `delta` to a counter or gauge.
pub fn add(name: &'static str, labels: &[(&str, &str)], delta: f64) {
    *registry()
        .values
        .entry((name, label_text(labels)))
        .or_insert(0.0) += delta;
}

/// Adds one to a counter.
pub fn count(name: &'static str, labels: &[(&str, &str)]) {
    add(name, labels, 1.0);
}

/// Records one delivery attempt's duration.
pub fn observe_delivery(took: Duration) {
    let seconds = took.as_secs_f64();
    let mut registry = registry();
    let bucket = BUCKETS
        .iter()
        .position(|bound| seconds <= *bound)
        .unwrap_or(BUCKETS.len());
    registry.latency.0[bucket] += 1;
    registry.latency.1 += seconds;
}

/// One open session of `service`: counted when made, and in the active
/// gauge until dropped.
pub struct Session(&'static str);

impl Session {
    /// Counts a new session of `service`.
    pub fn start(service: &'static str) -> Session {
        count("sansmail_sessions_total", &[("service", service)]);
        add("sansmail_sessions_active", &[("service", service)], 1.0);
        Session(service)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        add("sansmail_sessions_active", &[("service", self.0)], -1.0);
    }
}

/// Every metric in the text format, with the queue's size and oldest age
/// as given.
pub fn render(queue_messages: usize, queue_oldest_age: u64) -> String {
    let registry = registry();
    let mut out = String::new();
    for (name, kind, help) in HELP {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        match *name {
            "sansmail_queue_messages" => {
                let _ = writeln!(out, "{name} {queue_messages}");
            }
            "sansmail_queue_oldest_age_seconds" => {
                let _ = writeln!(out, "{name} {queue_oldest_age}");
            }
            "sansmail_delivery_attempt_seconds" => {
                let (counts, sum) = &registry.latency;
                let mut cumulative = 0;
                for (i, n) in counts.iter().enumerate() {
                    cumulative += n;
                    let bound = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
                    let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
                }
                let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
            }
            _ => {
                let series = registry.values.range((*name, String::new())..);
                for ((series_name, labels), value) in series {
                    if series_name != name {
                        break;
                    }
                    let _ = writeln!(out, "{name}{labels} {value}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        count(
            "sansmail_filter_verdicts_total",
            &[("filter", "spamd"), ("verdict", "say \"hi\"\n")],
        );
        {
            let _s = Session::start("imap-test");
            let text = render(3, 60);
            assert!(text.contains("sansmail_sessions_active{service=\"imap-test\"} 1\n"));
        }
        observe_delivery(Duration::from_millis(70));
        observe_delivery(Duration::from_secs(100));
        let text = render(3, 60);
        assert!(text.contains("# TYPE sansmail_sessions_total counter\n"));
        assert!(text.contains("sansmail_sessions_total{service=\"imap-test\"} 1\n"));
        assert!(text.contains("sansmail_sessions_active{service=\"imap-test\"} 0\n"));
        assert!(text.contains(
            "sansmail_filter_verdicts_total{filter=\"spamd\",verdict=\"say \\\"hi\\\"\\n\"} 1\n"
        ));
        assert!(text.contains("sansmail_queue_messages 3\n"));
        assert!(text.contains("sansmail_queue_oldest_age_seconds 60\n"));
        // Buckets are cumulative; the slow attempt is only in +Inf.
        assert!(text.contains("sansmail_delivery_attempt_seconds_bucket{le=\"0.05\"} 0\n"));
        assert!(text.contains("sansmail_delivery_attempt_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("sansmail_delivery_attempt_seconds_bucket{le=\"30\"} 1\n"));
        assert!(text.contains("sansmail_delivery_attempt_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("sansmail_delivery_attempt_seconds_count 2\n"));
        // Every line is a comment or `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
