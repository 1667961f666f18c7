//! Relaying that cannot be downgraded: `DirectMailer` with MTA-STS (an
//! HTTPS policy server and NSD on loopback) and DANE (a DNSSEC-signed zone
//! in NSD behind a validating unbound), against smtp-sink MX hosts and a
//! man in the middle that strips STARTTLS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sansmail::tls_rpt::Collector;
use sansmail::{DeliveryStatus, DirectMailer, Error, Outgoing, RecipientOutcome, Trust};
use sansmail_test_support::secure::{Ca, PolicyServer, Unbound, sign_zone, strip_starttls};
use sansmail_test_support::{Nsd, Sink, free_port};
use sha2::{Digest, Sha256};

const MESSAGE: &[u8] = b"From: app@example.com\r\nSubject: secure\r\n\r\nhello\r\n";

/// Sends to `to` and gives its one outcome.
async fn send(mailer: &DirectMailer, to: &str) -> RecipientOutcome {
    let outgoing = Outgoing::with_envelope("app@example.com", &[to], MESSAGE).unwrap();
    let mut outcomes = match mailer.send(outgoing).await {
        Ok(report) => report.recipients,
        Err(Error::Rejected { recipients }) => recipients,
        Err(e) => panic!("{to}: {e}"),
    };
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

fn assert_delivered(outcome: &RecipientOutcome) {
    assert!(
        matches!(outcome.status, DeliveryStatus::Delivered(_)),
        "{outcome:?}"
    );
}

/// A temporary failure whose reply has the 4.7.5 status and `reason`.
fn assert_deferred(outcome: &RecipientOutcome, reason: &str) {
    let DeliveryStatus::TemporaryFailure(reply) = &outcome.status else {
        panic!("not deferred: {outcome:?}");
    };
    let text = reply.to_wire_string();
    assert!(text.starts_with("451 4.7.5"), "{text}");
    assert!(text.contains(reason), "{reason:?} not in {text}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One message delivered to `sink` for `user`, over TLS.
fn assert_received_over_tls(sink: &Sink, user: &str, count: usize) {
    let got = sink.messages(user, count, Duration::from_secs(10));
    assert_eq!(got.len(), count, "{user}");
    assert!(got.iter().all(|m| m.contains("with ESMTPS")), "{got:?}");
}

#[tokio::test]
async fn mta_sts_enforce_delivers_only_to_listed_hosts_with_valid_certificates() {
    let ca = Ca::new();
    let port = free_port();
    let domains = [
        "ok",
        "badcert",
        "offlist",
        "testing",
        "stripped",
        "redirect",
        "wrongtype",
        "huge",
    ];
    let mut zone = String::from(
        "$ORIGIN sts.test.\n$TTL 300\n@ IN SOA ns.sts.test. admin.sts.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         mx-ok IN A 127.0.0.2\nmx-bad IN A 127.0.0.3\nmx-strip IN A 127.0.0.4\n\
         ok IN MX 10 mx-ok\nofflist IN MX 10 mx-ok\nstripped IN MX 10 mx-strip\n\
         badcert IN MX 10 mx-bad\ntesting IN MX 10 mx-bad\nredirect IN MX 10 mx-bad\n\
         wrongtype IN MX 10 mx-bad\nhuge IN MX 10 mx-bad\n",
    );
    for d in domains {
        zone.push_str(&format!(
            "_mta-sts.{d} IN TXT \"v=STSv1; id=20261203\"\nmta-sts.{d} IN A 127.0.0.1\n"
        ));
    }
    let dns = Nsd::start("sts.test", &zone);
    let hosts: Vec<String> = domains
        .iter()
        .map(|d| format!("mta-sts.{d}.sts.test"))
        .collect();
    let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let policy = |mode: &str, mx: &str| {
        format!("version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n")
    };
    let policies = [
        ("mta-sts.ok.sts.test", policy("enforce", "mx-ok.sts.test")),
        (
            "mta-sts.badcert.sts.test",
            policy("enforce", "mx-bad.sts.test"),
        ),
        (
            "mta-sts.offlist.sts.test",
            policy("enforce", "elsewhere.sts.test"),
        ),
        (
            "mta-sts.testing.sts.test",
            policy("testing", "mx-bad.sts.test"),
        ),
        ("mta-sts.stripped.sts.test", policy("enforce", "*.sts.test")),
        (
            "mta-sts.redirect.sts.test",
            "redirect:https://mta-sts.badcert.sts.test/.well-known/mta-sts.txt".into(),
        ),
        // Not text/plain, and over 64 KiB (RFC 8461 §3.3): no policy either.
        (
            "mta-sts.wrongtype.sts.test",
            format!("json:{}", policy("enforce", "mx-bad.sts.test")),
        ),
        (
            "mta-sts.huge.sts.test",
            format!("huge:{}", policy("enforce", "mx-bad.sts.test")),
        ),
    ];
    let table: Vec<(&str, &str)> = policies.iter().map(|(h, p)| (*h, p.as_str())).collect();
    let https = PolicyServer::start(&ca.issue(&names), &table);

    // mx-ok has a certificate from the CA for its name; mx-bad a self-signed one.
    let sink_dir = sansmail_test_support::TempDir::new("sts-certs");
    let (cert, key) = ca
        .issue(&["mx-ok.sts.test"])
        .write(sink_dir.path(), "mx-ok");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let good = Sink::start_at(
        &format!("127.0.0.2:{port}"),
        &[
            "--domain",
            "ok.sts.test",
            "--domain",
            "offlist.sts.test",
            "--domain",
            "stripped.sts.test",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    );
    let bad = Sink::start_at(
        &format!("127.0.0.3:{port}"),
        &[
            "--domain",
            "badcert.sts.test",
            "--domain",
            "testing.sts.test",
            "--domain",
            "redirect.sts.test",
            "--domain",
            "wrongtype.sts.test",
            "--domain",
            "huge.sts.test",
        ],
    );
    strip_starttls(&format!("127.0.0.4:{port}"), &format!("127.0.0.2:{port}"));

    let reports = Arc::new(Mutex::new(Collector::default()));
    let mailer = DirectMailer::new("client.example.com")
        .unwrap()
        .nameservers(vec![dns.addr()])
        .port(port)
        .timeout(Duration::from_secs(10))
        .mta_sts_trust(&Trust::Roots(vec![ca.der().into()]))
        .mta_sts_port(https.port)
        .tls_reports(reports.clone());

    assert_delivered(&send(&mailer, "ann@ok.sts.test").await);
    assert_received_over_tls(&good, "ann", 1);
    assert_deferred(&send(&mailer, "bob@badcert.sts.test").await, "certificate");
    assert_deferred(
        &send(&mailer, "cid@offlist.sts.test").await,
        "not among the policy's MX hosts",
    );
    assert_deferred(&send(&mailer, "dan@stripped.sts.test").await, "STARTTLS");
    // testing mode reports and delivers; a redirect is not followed, so no policy applies.
    assert_delivered(&send(&mailer, "eve@testing.sts.test").await);
    assert_delivered(&send(&mailer, "fay@redirect.sts.test").await);
    assert!(
        bad.messages("bob", 1, Duration::from_millis(300))
            .is_empty()
    );
    assert_eq!(bad.messages("eve", 1, Duration::from_secs(10)).len(), 1);
    assert_eq!(bad.messages("fay", 1, Duration::from_secs(10)).len(), 1);
    assert!(
        good.messages("cid", 1, Duration::from_millis(300))
            .is_empty()
    );
    assert!(
        good.messages("dan", 1, Duration::from_millis(300))
            .is_empty()
    );

    // Each session was counted under its policy, for TLS reports (RFC 8460).
    let report = |domain: &str| {
        let mut reports = reports.lock().unwrap();
        let report = reports.take_report(domain, (0, 86_400), "us", "tls@example.com", "id");
        serde_json::to_value(report.expect(domain)).unwrap()
    };
    let ok = report("ok.sts.test");
    assert_eq!(ok["policies"][0]["policy"]["policy-type"], "sts");
    assert_eq!(ok["policies"][0]["policy"]["mx-host"][0], "mx-ok.sts.test");
    assert_eq!(
        ok["policies"][0]["summary"]["total-successful-session-count"],
        1
    );
    let failed = |domain: &str, kind: &str| {
        let json = report(domain);
        let policy = &json["policies"][0];
        assert_eq!(
            policy["summary"]["total-failure-session-count"], 1,
            "{json}"
        );
        assert_eq!(policy["failure-details"][0]["result-type"], kind, "{json}");
    };
    failed("badcert.sts.test", "certificate-not-trusted");
    failed("offlist.sts.test", "validation-failure");
    failed("stripped.sts.test", "starttls-not-supported");
    // testing mode: the failed check is reported though the message went through.
    failed("testing.sts.test", "certificate-not-trusted");
    let redirect = report("redirect.sts.test");
    let kinds: Vec<&serde_json::Value> = redirect["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["failure-details"].as_array().into_iter().flatten())
        .map(|d| &d["result-type"])
        .collect();
    assert_eq!(kinds, ["sts-policy-fetch-error"], "{redirect}");
    // A policy served as another type, or too large, is no policy: the
    // self-signed MX gets the mail, and the fetch error is reported.
    for (user, domain) in [("gil", "wrongtype.sts.test"), ("hal", "huge.sts.test")] {
        assert_delivered(&send(&mailer, &format!("{user}@{domain}")).await);
        assert_eq!(bad.messages(user, 1, Duration::from_secs(10)).len(), 1);
        let json = report(domain);
        let kind = &json["policies"][0]["failure-details"][0]["result-type"];
        assert_eq!(kind, "sts-policy-fetch-error", "{json}");
    }

    // Policies are kept for max_age: with the policy server gone they still hold.
    drop(https);
    assert_delivered(&send(&mailer, "ann@ok.sts.test").await);
    assert_received_over_tls(&good, "ann", 2);
    assert_deferred(&send(&mailer, "bob@badcert.sts.test").await, "certificate");

    // Turned off, the same domain gets opportunistic delivery.
    let plain = mailer.clone().mta_sts(false);
    assert_delivered(&send(&plain, "bob@badcert.sts.test").await);
}

#[tokio::test]
async fn dane_binds_certificates_only_when_the_answers_are_validated() {
    let ca = Ca::new();
    let port = free_port();
    let certs = sansmail_test_support::TempDir::new("dane-certs");
    // DANE-EE ignores names and issuers: any certificate with the right key.
    let ee = ca.issue(&["unrelated.example"]);
    let (ee_cert, ee_key) = ee.write(certs.path(), "ee");
    let ta = ca.issue(&["mx-ta.dane.test"]);
    let (ta_cert, ta_key) = ta.write(certs.path(), "ta");
    let ee_digest = hex(&Sha256::digest(&ee.spki_der));
    let ca_digest = hex(&Sha256::digest(ca.der()));
    let tlsa = |host: &str, rdata: &str| format!("_{port}._tcp.{host} IN TLSA {rdata}\n");
    let mut zone = String::from(
        "$ORIGIN dane.test.\n$TTL 300\n@ IN SOA ns.dane.test. admin.dane.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         ee IN MX 10 mx-ee\nmx-ee IN A 127.0.0.5\n\
         wrong IN MX 10 mx-wrong\nmx-wrong IN A 127.0.0.6\n\
         ta IN MX 10 mx-ta\nmx-ta IN A 127.0.0.7\n\
         strip IN MX 10 mx-strip\nmx-strip IN A 127.0.0.8\n\
         unusable IN MX 10 mx-unusable\nmx-unusable IN A 127.0.0.6\n\
         req IN MX 10 mx-req\nmx-req IN A 127.0.0.9\n",
    );
    zone += &tlsa("mx-ee", &format!("3 1 1 {ee_digest}"));
    zone += &tlsa("mx-wrong", &format!("3 1 1 {}", "00".repeat(32)));
    zone += &tlsa("mx-ta", &format!("2 0 1 {ca_digest}"));
    zone += &tlsa("mx-strip", &format!("3 1 1 {ee_digest}"));
    zone += &tlsa("mx-unusable", &format!("1 1 1 {ee_digest}"));
    zone += &tlsa("mx-req", &format!("3 1 1 {ee_digest}"));
    let (signed, anchor) = sign_zone("dane.test", &zone);
    let nsd = Nsd::start("dane.test", &signed);
    let validating = Unbound::start("dane.test", &nsd, Some(&anchor));
    let unanchored = Unbound::start("dane.test", &nsd, None);

    let path = |p: &std::path::Path| p.display().to_string();
    let domains =
        ["ee", "wrong", "ta", "strip", "unusable", "req"].map(|d| format!("{d}.dane.test"));
    let mut args = Vec::new();
    for d in &domains {
        args.extend(["--domain", d.as_str()]);
    }
    let (c, k) = (path(&ee_cert), path(&ee_key));
    let mut ee_args = args.clone();
    ee_args.extend(["--tls-cert", &c, "--tls-key", &k]);
    let ee_sink = Sink::start_at(&format!("127.0.0.5:{port}"), &ee_args);
    let mut req_args = ee_args.clone();
    req_args.push("--requiretls");
    let req_sink = Sink::start_at(&format!("127.0.0.9:{port}"), &req_args);
    let wrong_sink = Sink::start_at(&format!("127.0.0.6:{port}"), &args);
    let (c, k) = (path(&ta_cert), path(&ta_key));
    let mut ta_args = args.clone();
    ta_args.extend(["--tls-cert", &c, "--tls-key", &k]);
    let ta_sink = Sink::start_at(&format!("127.0.0.7:{port}"), &ta_args);
    strip_starttls(&format!("127.0.0.8:{port}"), &format!("127.0.0.5:{port}"));

    let mailer = |dns: std::net::SocketAddr| {
        DirectMailer::new("client.example.com")
            .unwrap()
            .nameservers(vec![dns])
            .port(port)
            .timeout(Duration::from_secs(10))
            .mta_sts(false)
            .dane(true)
    };
    let reports = Arc::new(Mutex::new(Collector::default()));
    let secure = mailer(validating.addr()).tls_reports(reports.clone());
    assert_delivered(&send(&secure, "ann@ee.dane.test").await);
    assert_received_over_tls(&ee_sink, "ann", 1);
    assert_delivered(&send(&secure, "bob@ta.dane.test").await);
    assert_received_over_tls(&ta_sink, "bob", 1);
    assert_deferred(&send(&secure, "cid@wrong.dane.test").await, "TLSA");
    assert_deferred(&send(&secure, "dan@strip.dane.test").await, "STARTTLS");
    // Only unusable records (PKIX-EE): TLS is required, any certificate will do.
    assert_delivered(&send(&secure, "eve@unusable.dane.test").await);
    assert_received_over_tls(&wrong_sink, "eve", 1);
    assert!(
        wrong_sink
            .messages("cid", 1, Duration::from_millis(300))
            .is_empty()
    );
    // Counted under the hosts' TLSA records, for TLS reports.
    let report = |domain: &str| {
        let mut reports = reports.lock().unwrap();
        let report = reports.take_report(domain, (0, 86_400), "us", "tls@example.com", "id");
        serde_json::to_value(report.expect(domain)).unwrap()
    };
    let ee = report("ee.dane.test");
    assert_eq!(ee["policies"][0]["policy"]["policy-type"], "tlsa");
    assert_eq!(
        ee["policies"][0]["policy"]["policy-string"][0],
        format!("3 1 1 {ee_digest}")
    );
    assert_eq!(
        ee["policies"][0]["summary"]["total-successful-session-count"],
        1
    );
    let wrong = report("wrong.dane.test");
    let detail = &wrong["policies"][0]["failure-details"][0];
    assert_eq!(detail["result-type"], "validation-failure", "{wrong}");
    assert_eq!(detail["receiving-mx-hostname"], "mx-wrong.dane.test");
    let strip = report("strip.dane.test");
    let detail = &strip["policies"][0]["failure-details"][0];
    assert_eq!(detail["result-type"], "starttls-not-supported", "{strip}");
    assert!(
        ee_sink
            .messages("dan", 1, Duration::from_millis(300))
            .is_empty()
    );

    // REQUIRETLS (RFC 8689): a DANE-verified host that offers it gets the
    // message; one that does not gets nothing, for good (5.7.30).
    let required = |to: &str| {
        Outgoing::with_envelope("app@example.com", &[to], MESSAGE)
            .unwrap()
            .require_tls(true)
    };
    let report = secure.send(required("fay@req.dane.test")).await.unwrap();
    assert!(report.all_accepted());
    assert_received_over_tls(&req_sink, "fay", 1);
    let Err(Error::Rejected { recipients }) = secure.send(required("gus@ee.dane.test")).await
    else {
        panic!("REQUIRETLS to a server without it went through");
    };
    let DeliveryStatus::PermanentFailure(reply) = &recipients[0].status else {
        panic!("{recipients:?}");
    };
    assert!(
        reply.to_wire_string().starts_with("550 5.7.30"),
        "{reply:?}"
    );
    assert!(
        ee_sink
            .messages("gus", 1, Duration::from_millis(300))
            .is_empty()
    );

    // "TLS-Required: No" sets the recipient's DANE records aside.
    let optional = Outgoing::with_envelope(
        "app@example.com",
        &["hal@wrong.dane.test"],
        &b"From: app@example.com\r\nTLS-Required: No\r\nSubject: x\r\n\r\nhi\r\n"[..],
    )
    .unwrap();
    assert!(secure.send(optional).await.unwrap().all_accepted());
    assert_eq!(
        wrong_sink.messages("hal", 1, Duration::from_secs(10)).len(),
        1
    );

    // The same records without a trust anchor are not validated: DANE does not apply.
    let insecure = mailer(unanchored.addr());
    assert_delivered(&send(&insecure, "cid@wrong.dane.test").await);
    assert_eq!(
        wrong_sink.messages("cid", 1, Duration::from_secs(10)).len(),
        1
    );
    // Nor can REQUIRETLS trust the MX host then.
    let outcome = match insecure.send(required("ivy@req.dane.test")).await {
        Err(Error::Rejected { mut recipients }) => recipients.remove(0),
        other => panic!("{other:?}"),
    };
    assert_deferred(&outcome, "neither found through DNSSEC");
}
