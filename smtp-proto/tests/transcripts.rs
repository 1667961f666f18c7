//! RFC example exchanges replayed through a server session.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{replay, tls_auth_config};
use sansmail_smtp::Mode;
use sansmail_smtp::server::{AbortReason, Config, Event};

/// RFC 5321 Appendix D.1: a typical SMTP transaction.
#[test]
fn rfc5321_d1_typical_transaction() {
    let s = replay(
        Config::default(),
        "S: 220 localhost ESMTP
         C: EHLO bar.com
         S: 250-localhost greets you
         S: 250-PIPELINING
         S: 250-SIZE 36700160
         S: 250-8BITMIME
         S: 250-CHUNKING
         S: 250-BINARYMIME
         S: 250-SMTPUTF8
         S: 250-DSN
         S: 250-ENHANCEDSTATUSCODES
         S: 250 HELP
         C: MAIL FROM:<Smith@bar.com>
         S: 250 2.1.0
         C: RCPT TO:<Jones@foo.com>
         S: 250 2.1.5
         C: RCPT TO:<Green@foo.com>
         S: 250 2.1.5
         C: RCPT TO:<reject@foo.com>
         S: 550 5.1.1 No such user
         C: DATA
         S: 354
         C: Blah blah blah...
         C: ...etc. etc. etc.
         C: .
         S: 250 2.0.0
         C: QUIT
         S: 221 2.0.0",
    );
    assert_eq!(
        s.messages,
        vec![b"Blah blah blah...\r\n..etc. etc. etc.\r\n".to_vec()]
    );
    assert!(s.closed);
}

/// RFC 5321 Appendix D.2 (aborted transaction) with RSET.
#[test]
fn rfc5321_d2_aborted_transaction() {
    let s = replay(
        Config::default(),
        "S: 220
         C: HELO bar.com
         S: 250 localhost
         C: MAIL FROM:<Smith@bar.com>
         S: 250 Sender OK
         C: RCPT TO:<Jones@foo.com>
         S: 250 Recipient OK
         C: RSET
         S: 250 OK
         C: QUIT
         S: 221",
    );
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::TransactionAborted {
            reason: AbortReason::Reset
        }
    )));
    assert!(s.messages.is_empty());
}

/// RFC 2920 §3.2: a pipelined group answered in order, DATA last.
#[test]
fn rfc2920_pipelining() {
    let s = replay(
        Config::default(),
        "S: 220
         C: EHLO dbc.mtview.ca.us
         S: 250-localhost
         S: 250-... PIPELINING
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<ned@innosoft.com>
         C: RCPT TO:<dan@innosoft.com>
         C: RCPT TO:<kvc@innosoft.com>
         C: DATA
         S: 250 2.1.0
         S: 250 2.1.5
         S: 250 2.1.5
         S: 250 2.1.5
         S: 354
         C: Hi
         C: .
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<reject@innosoft.com>
         C: DATA
         C: RSET
         C: QUIT
         S: 250 2.0.0
         S: 250 2.1.0
         S: 550 5.1.1
         S: 554 5.5.1 No valid recipients
         S: 250 2.0.0
         S: 221",
    );
    assert_eq!(s.messages, vec![b"Hi\r\n".to_vec()]);
}

/// RFC 3030 §4.2: BDAT chunks, pipelined, with the last one empty.
#[test]
fn rfc3030_chunking() {
    let s = replay(
        Config::default(),
        "S: 220
         C: EHLO example.com
         S: 250-localhost
         S: 250-... CHUNKING BINARYMIME
         C: MAIL FROM:<Sam@Random.com> BODY=BINARYMIME
         C: RCPT TO:<Susan@Random.com>
         C: RCPT TO:<Peter@Random.com>
         S: 250 2.1.0
         S: 250 2.1.5
         S: 250 2.1.5
         C: BDAT 6
         C: 1234
         C: BDAT 7
         C: abcde
         C: BDAT 0 LAST
         S: 250 2.0.0 6 octets received
         S: 250 2.0.0 7 octets received
         S: 250 2.0.0 Message accepted",
    );
    assert_eq!(s.messages, vec![b"1234\r\nabcde\r\n".to_vec()]);
}

/// RFC 3030: DATA is refused for BINARYMIME; BDAT data is never read as commands.
#[test]
fn rfc3030_binarymime_needs_bdat_and_refused_chunks_are_consumed() {
    replay(
        Config::default(),
        "S: 220
         C: EHLO example.com
         S: 250-localhost
         S: 250-... CHUNKING
         C: BDAT 6
         C: QUIT
         S: 503 5.5.1 Need MAIL
         C: MAIL FROM:<a@example.com> BODY=BINARYMIME
         S: 250
         C: RCPT TO:<b@example.com>
         S: 250
         C: DATA
         S: 503 5.5.1 Use BDAT
         C: NOOP
         S: 250",
    );
}

/// RFC 4954 §4 examples: AUTH PLAIN with an initial response and after a 334.
#[test]
fn rfc4954_auth_plain() {
    let s = replay(
        Config {
            implicit_tls: true,
            ..tls_auth_config()
        },
        "S: 220
         C: EHLO client.example
         S: 250-localhost
         S: 250-... AUTH !STARTTLS
         C: AUTH PLAIN dGVzdAB0ZXN0AHdyb25n
         S: 535 5.7.8
         C: AUTH PLAIN
         S: 334
         C: AHRlc3QAc2VjcmV0
         S: 235 2.7.0
         C: AUTH PLAIN AHRlc3QAc2VjcmV0
         S: 503 5.5.1 Already authenticated",
    );
    assert!(s.session.is_authenticated());
}

/// LOGIN in two steps, cancellation with `*`, and bad base64.
#[test]
fn auth_login_and_cancel() {
    let s = replay(
        Config {
            implicit_tls: true,
            ..tls_auth_config()
        },
        "S: 220
         C: EHLO client.example
         S: 250-localhost
         S: 250-... AUTH !STARTTLS
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: *
         S: 501 5.0.0 Authentication cancelled
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: not base64!
         S: 501 5.5.2
         C: AUTH CRAM-MD5
         S: 504 5.5.4
         C: AUTH LOGIN dXNlcg==
         S: 334 UGFzc3dvcmQ6
         C: c2VjcmV0
         S: 235 2.7.0",
    );
    assert!(s.session.is_authenticated());
}

/// RFC 7628 §3.2.3: a refused OAUTHBEARER gets an error challenge first.
#[test]
fn oauthbearer_failure_round() {
    let bad = base64_of(b"n,a=user@example.com,\x01auth=Bearer bad\x01\x01");
    let good = base64_of(b"n,a=user@example.com,\x01auth=Bearer good-token\x01\x01");
    let transcript = format!(
        "S: 220
         C: EHLO client.example
         S: 250-localhost
         S: 250-... AUTH
         C: AUTH OAUTHBEARER {bad}
         S: 334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=
         C: AQ==
         S: 535 5.7.8
         C: AUTH OAUTHBEARER {good}
         S: 235 2.7.0"
    );
    replay(
        Config {
            implicit_tls: true,
            ..tls_auth_config()
        },
        &transcript,
    );
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// RFC 3207 §4: STARTTLS, then the client must greet again; AUTH only over TLS.
#[test]
fn rfc3207_starttls() {
    let s = replay(
        tls_auth_config(),
        "S: 220
         C: EHLO mail.example.com
         S: 250-localhost
         S: 250-... STARTTLS !AUTH
         C: AUTH PLAIN AHRlc3QAc2VjcmV0
         S: 538 5.7.11
         C: STARTTLS
         S: 220 2.0.0 Ready to start TLS
         C: MAIL FROM:<a@example.com>
         S: 503 Send EHLO or HELO first
         C: EHLO mail.example.com
         S: 250-localhost
         S: 250-... AUTH !STARTTLS
         C: STARTTLS
         S: 503 5.5.1 TLS already active",
    );
    assert_eq!(s.tls_upgrades, 1);
    assert!(s.session.is_tls());
}

/// RFC 2033 §4.2: LMTP answers once per accepted recipient after the data.
#[test]
fn rfc2033_lmtp() {
    let s = replay(
        Config {
            mode: Mode::Lmtp,
            ..Config::default()
        },
        "S: 220
         C: LHLO foo.edu
         S: 250-localhost
         S: 250-... PIPELINING
         C: MAIL FROM:<chris@bar.com>
         S: 250 2.1.0
         C: RCPT TO:<pat@foo.edu>
         S: 250 2.1.5
         C: RCPT TO:<reject@foo.edu>
         S: 550 5.1.1
         C: RCPT TO:<green@foo.edu>
         S: 250 2.1.5
         C: DATA
         S: 354
         C: Blah blah blah...
         C: .
         S: 250 2.0.0
         S: 250 2.0.0
         C: EHLO foo.edu
         S: 500 5.5.1
         C: QUIT
         S: 221",
    );
    assert_eq!(s.messages.len(), 1);
}

/// VRFY and EXPN go to the application; HELP and NOOP are answered directly.
#[test]
fn vrfy_expn_help() {
    replay(
        Config::default(),
        "S: 220
         C: VRFY Smith
         S: 252
         C: EXPN staff
         S: 252
         C: HELP
         S: 214
         C: NOOP hello
         S: 250",
    );
}

/// HELO sessions take no ESMTP parameters and get no enhanced status codes.
#[test]
fn helo_is_plain_smtp() {
    replay(
        Config::default(),
        "S: 220
         C: HELO old.example
         S: 250 localhost
         C: MAIL FROM:<a@old.example> SIZE=10
         S: 555 Parameter not recognized
         C: MAIL FROM:<a@old.example>
         S: 250 Sender OK",
    );
}
