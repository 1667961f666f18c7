//! mail-server's `/metrics` scraped by a real Prometheus (Debian's
//! `prometheus`): the counters move with sessions, messages, deliveries and
//! failed logins, and the queue gauges follow the queue.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sansmail_test_support::*;

/// One value of a Prometheus instant query, if the series exists.
fn query(prometheus: u16, expr: &str) -> Option<f64> {
    let out = python(
        r#"
import json, os, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (os.environ["PORT"], urllib.parse.quote(os.environ["EXPR"]))
answer = json.load(urllib.request.urlopen(url, timeout=10))
assert answer["status"] == "success", answer
result = answer["data"]["result"]
print(result[0]["value"][1] if result else "none")
"#,
        &[("PORT", &prometheus.to_string()), ("EXPR", expr)],
    );
    out.trim().parse().ok()
}

/// Waits until `expr` has a value for which `ok` holds; returns it.
fn wait_for(prometheus: u16, expr: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = query(prometheus, expr);
        if let Some(v) = value.filter(|v| ok(*v)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{expr} is {value:?} in Prometheus"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn prometheus_scrapes_counters_that_move() {
    let metrics_port = free_port();
    let remote_port = free_port();
    // The remote exchanger refuses: the relayed message stays queued.
    let (_dns, _config, mut server) = relaying_server(
        "later IN MX 10 mx\nmx IN A 127.0.0.1\n",
        &format!("retry_secs = [3600]\n[listen]\nmetrics = \"127.0.0.1:{metrics_port}\"\n"),
        remote_port,
    );
    server.wait_listening(metrics_port);

    // The text format as Prometheus's own checker reads it.
    let scrape = run(
        Command::new(require("curl"))
            .args(["-sf", &format!("http://127.0.0.1:{metrics_port}/metrics")]),
        b"",
        Duration::from_secs(30),
    );
    assert!(scrape.status.success());
    let checked = run(
        Command::new(require("promtool")).args(["check", "metrics"]),
        &scrape.stdout,
        Duration::from_secs(30),
    );
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let other = run(
        Command::new("curl").args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{metrics_port}/"),
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(String::from_utf8_lossy(&other.stdout), "404");

    let dir = TempDir::new("prometheus");
    let web_port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mail\n    static_configs:\n      - targets: [\"127.0.0.1:{metrics_port}\"]\n"
        ),
    )
    .unwrap();
    let child = Command::new(require("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus");
    let _prometheus = listening(child, "prometheus", web_port);
    assert_eq!(wait_for(web_port, "up{job=\"mail\"}", |v| v == 1.0), 1.0);

    // A local delivery, a relayed message that waits, and a failed login.
    submit(
        &server,
        &["bob@example.test"],
        &message_text("alice@example.test", "bob@example.test", "local"),
    );
    submit(
        &server,
        &["someone@later.remote.test"],
        &message_text("alice@example.test", "someone@later.remote.test", "away"),
    );
    let refused = server.python(
        r#"
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
try:
    m.login("alice", "wrong")
except imaplib.IMAP4.error:
    print("refused")
"#,
    );
    assert_eq!(refused.trim(), "refused");

    let received = "sansmail_messages_received_total{service=\"submission\",outcome=\"accepted\"}";
    assert_eq!(wait_for(web_port, received, |v| v >= 2.0), 2.0);
    wait_for(
        web_port,
        "sansmail_deliveries_total{route=\"local\",outcome=\"delivered\"}",
        |v| v >= 1.0,
    );
    wait_for(
        web_port,
        "sansmail_deliveries_total{route=\"remote\",outcome=\"deferred\"}",
        |v| v >= 1.0,
    );
    wait_for(
        web_port,
        "sansmail_auth_attempts_total{outcome=\"failure\"}",
        |v| v >= 1.0,
    );
    wait_for(web_port, "sansmail_queue_messages", |v| v == 1.0);
    wait_for(web_port, "sansmail_queue_oldest_age_seconds", |v| v >= 1.0);
    wait_for(web_port, "sansmail_delivery_attempt_seconds_count", |v| {
        v >= 1.0
    });
    let sessions = "sansmail_sessions_total{service=\"submission\"}";
    let before = wait_for(web_port, sessions, |v| v >= 2.0);
    submit(
        &server,
        &["bob@example.test"],
        &message_text("alice@example.test", "bob@example.test", "again"),
    );
    wait_for(web_port, sessions, |v| v > before);
    wait_for(web_port, received, |v| v >= 3.0);
}
