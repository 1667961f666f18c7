//! RFC 1939 and RFC 2449 exchanges replayed through the server session.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Server, message, replay};
use sansmail_pop3::server::{Config, Event};

#[test]
fn rfc_1939_example_session() {
    let mut s = Server::rfc1939();
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
         S: +OK maildrop has 2 messages (320 octets)
         C: STAT
         S: +OK 2 320
         C: LIST
         S: +OK 2 messages (320 octets)
         S: 1 120
         S: 2 200
         S: .",
    );
    let one = String::from_utf8(message(120, b'a')).unwrap();
    assert_eq!(
        s.feed(b"RETR 1\r\n"),
        format!("+OK 120 octets\r\n{one}.\r\n")
    );
    replay(
        &mut s,
        "C: DELE 1
         S: +OK Message 1 deleted",
    );
    let two = String::from_utf8(message(200, b'b')).unwrap();
    assert_eq!(
        s.feed(b"RETR 2\r\n"),
        format!("+OK 200 octets\r\n{two}.\r\n")
    );
    replay(
        &mut s,
        "C: DELE 2
         S: +OK Message 2 deleted
         C: QUIT
         S: +OK dewey POP3 server signing off (0 messages left)",
    );
    assert!(s.closed);
    assert_eq!(s.removed, vec![1, 2]);
}

#[test]
fn rfc_1939_commands_in_transaction_state() {
    let mut s = Server::rfc1939();
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: USER mrose
         S: +OK Send PASS
         C: PASS tanstaaf
         S: +OK maildrop has 2 messages (320 octets)
         C: LIST 2
         S: +OK 2 200
         C: LIST 3
         S: -ERR No such message, only 2 messages in maildrop
         C: UIDL
         S: +OK Unique-ID listing follows
         S: 1 uid-1
         S: 2 uid-2
         S: .
         C: DELE 1
         S: +OK Message 1 deleted
         C: LIST 1
         S: -ERR Message 1 already deleted
         C: RETR 1
         S: -ERR Message 1 already deleted
         C: DELE 1
         S: -ERR Message 1 already deleted
         C: UIDL 2
         S: +OK 2 uid-2
         C: STAT
         S: +OK 1 200
         C: RSET
         S: +OK maildrop has 2 messages (320 octets)
         C: NOOP
         S: +OK
         C: QUIT
         S: +OK dewey POP3 server signing off",
    );
    assert!(s.removed.is_empty(), "RSET unmarked the message");
    assert!(!s.events.iter().any(|e| matches!(e, Event::Update { .. })));
}

#[test]
fn rfc_1939_top_counts_lines_and_stuffs_dots() {
    let msg = b"From: a@example.com\r\nSubject: dots\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n";
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let mut s = Server::new(config, &[msg]);
    s.drain();
    s.feed(b"USER mrose\r\nPASS tanstaaf\r\n");
    assert_eq!(
        s.feed(b"TOP 1 0\r\n"),
        "+OK top of message follows\r\nFrom: a@example.com\r\nSubject: dots\r\n\r\n.\r\n"
    );
    assert_eq!(
        s.feed(b"TOP 1 2\r\n"),
        "+OK top of message follows\r\nFrom: a@example.com\r\nSubject: dots\r\n\r\nline 1\r\n..line 2\r\n.\r\n"
    );
    let all = s.feed(b"TOP 1 100\r\n");
    assert!(
        all.ends_with("line 1\r\n..line 2\r\nline 3\r\n.\r\n"),
        "{all}"
    );
}

#[test]
fn lf_only_messages_go_out_with_crlf() {
    // Maildirs written by Dovecot or procmail store LF line ends.
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let mut s = Server::new(config, &[b"Subject: x\n\n.hidden\nend"]);
    s.drain();
    s.feed(b"USER mrose\r\nPASS tanstaaf\r\n");
    let out = s.feed(b"RETR 1\r\n");
    assert!(
        out.ends_with("Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n"),
        "{out}"
    );
}

#[test]
fn rfc_1939_states_are_enforced() {
    let mut s = Server::rfc1939();
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: STAT
         S: -ERR Command not valid in this state
         C: PASS tanstaaf
         S: -ERR Send USER first
         C: USER mrose
         S: +OK Send PASS
         C: PASS wrong
         S: -ERR [AUTH] invalid credentials
         C: PASS tanstaaf
         S: -ERR Send USER first
         C: USER mrose
         S: +OK Send PASS
         C: PASS tanstaaf
         S: +OK maildrop has 2 messages (320 octets)
         C: USER mrose
         S: -ERR Command not valid in this state
         C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
         S: -ERR Command not valid in this state
         C: STLS
         S: -ERR Command not valid in this state
         C: XTND XMIT
         S: -ERR Unknown command",
    );
}

#[test]
fn in_use_maildrop_is_refused_with_its_code() {
    let mut s = Server::rfc1939();
    s.locked = true;
    s.drain();
    assert_eq!(
        s.feed(b"USER mrose\r\nPASS tanstaaf\r\n"),
        "+OK Send PASS\r\n-ERR [IN-USE] maildrop locked\r\n"
    );
    assert!(!s.session.is_authenticated());
}

#[test]
fn failed_update_reports_sys_temp_and_closes() {
    let mut s = Server::rfc1939();
    s.fail_update = true;
    s.drain();
    s.feed(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    s.feed(b"DELE 2\r\n");
    assert_eq!(
        s.feed(b"QUIT\r\n"),
        "-ERR [SYS/TEMP] some deleted messages not removed\r\n"
    );
    assert!(s.closed);
}

#[test]
fn connection_loss_applies_no_deletions() {
    let mut s = Server::rfc1939();
    s.drain();
    s.feed(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nDELE 1\r\n");
    s.session.handle_eof(s.now);
    s.drain();
    assert!(s.closed);
    assert!(!s.events.iter().any(|e| matches!(e, Event::Update { .. })));
}

#[test]
fn rfc_2449_capa_before_and_after_stls() {
    let config = Config {
        stls: true,
        implementation: Some("sansmail".into()),
        login_delay: Some(900),
        expire: Some(sansmail_pop3::types::Expire::Days(60)),
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: CAPA
         S: +OK Capability list follows
         S: TOP
         S: RESP-CODES
         S: AUTH-RESP-CODE
         S: PIPELINING
         S: UIDL
         S: STLS
         S: EXPIRE 60
         S: LOGIN-DELAY 900
         S: UTF8 USER
         S: IMPLEMENTATION sansmail
         S: .
         C: USER mrose
         S: -ERR [AUTH] Plaintext authentication disallowed before STLS
         C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm
         S: -ERR [AUTH] Plaintext authentication disallowed before STLS
         C: STLS
         S: +OK Begin TLS negotiation
         C: CAPA
         S: +OK Capability list follows
         S: TOP
         S: USER
         S: SASL PLAIN LOGIN
         S: RESP-CODES
         S: AUTH-RESP-CODE
         S: PIPELINING
         S: UIDL
         S: EXPIRE 60
         S: LOGIN-DELAY 900
         S: UTF8 USER
         S: IMPLEMENTATION sansmail
         S: .
         C: STLS
         S: -ERR Already running TLS
         C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm
         S: +OK maildrop has 0 messages (0 octets)",
    );
    assert!(s.starttls);
}

#[test]
fn stls_discards_pipelined_plaintext() {
    let config = Config {
        stls: true,
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    s.drain();
    let out = s.feed(b"STLS\r\nUSER mrose\r\nPASS tanstaaf\r\n");
    assert_eq!(out, "+OK Begin TLS negotiation\r\n");
    assert!(
        s.events
            .contains(&Event::PipelinedInputDiscarded { bytes: 27 })
    );
    assert!(!s.session.is_authenticated());
}

#[test]
fn rfc_5034_sasl_exchanges() {
    let config = Config {
        implicit_tls: true,
        auth_mechanisms: vec![
            sansmail_pop3::sasl::Mechanism::Plain,
            sansmail_pop3::sasl::Mechanism::Login,
            sansmail_pop3::sasl::Mechanism::XOAuth2,
        ],
        ..Config::default()
    };
    let mut s = Server::new(config, &[b"x\r\n"]);
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: AUTH
         S: +OK Methods follow
         S: PLAIN
         S: LOGIN
         S: XOAUTH2
         S: .
         C: AUTH CRAM-MD5
         S: -ERR Unrecognized authentication type
         C: AUTH PLAIN
         S: + 
         C: *
         S: -ERR Authentication cancelled
         C: AUTH PLAIN
         S: + 
         C: not base64!
         S: -ERR Invalid base64
         C: AUTH XOAUTH2 dXNlcj1tcm9zZQFhdXRoPUJlYXJlciB0b2sBAQ==
         S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=
         C: 
         S: -ERR [AUTH] invalid credentials
         C: AUTH LOGIN
         S: + VXNlcm5hbWU6
         C: bXJvc2U=
         S: + UGFzc3dvcmQ6
         C: dGFuc3RhYWY=
         S: +OK maildrop has 1 messages (3 octets)",
    );
}

#[test]
fn rfc_6856_utf8_and_lang() {
    let config = Config {
        login_requires_tls: false,
        languages: vec![
            ("en".into(), "English".into()),
            ("de".into(), "Deutsch".into()),
        ],
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    replay(
        &mut s,
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: USER jörg
         S: -ERR UTF-8 user names and passwords need the UTF8 command
         C: UTF8
         S: +OK UTF8 enabled
         C: USER jörg
         S: +OK Send PASS
         C: LANG
         S: +OK Language listing follows
         S: en English
         S: de Deutsch
         S: .
         C: LANG DE
         S: +OK de Language changed
         C: LANG fr
         S: -ERR Unsupported language
         C: LANG *
         S: +OK en Language changed",
    );
    assert!(s.session.is_utf8());
    assert_eq!(s.session.language(), Some("en"));
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let mut s = Server::rfc1939();
    s.drain();
    let out =
        s.feed(b"USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nUIDL 1\r\nDELE 1\r\nSTAT\r\nQUIT\r\n");
    assert_eq!(
        out,
        "+OK Send PASS\r\n+OK maildrop has 2 messages (320 octets)\r\n+OK 2 320\r\n\
         +OK 1 uid-1\r\n+OK Message 1 deleted\r\n+OK 1 200\r\n\
         +OK dewey POP3 server signing off (1 messages left)\r\n"
    );
    assert_eq!(s.removed, vec![1]);
}

#[test]
fn apop_needs_a_greeting_timestamp() {
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let mut session = sansmail_pop3::server::Session::new(config, std::time::Instant::now());
    let sansmail_pop3::Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!("expected Connected");
    };
    session.accept(std::time::Instant::now(), ticket).unwrap();
    session.handle_input(
        std::time::Instant::now(),
        b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
    );
    let mut wire = Vec::new();
    while let sansmail_pop3::Output::Transmit(b) = session.poll_output() {
        wire.extend_from_slice(&b);
    }
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "+OK localhost POP3 ready\r\n-ERR APOP is not offered\r\n"
    );
}

#[test]
fn commands_pipelined_behind_a_sasl_login_are_read_as_commands() {
    let config = Config {
        implicit_tls: true,
        ..Config::default()
    };
    let mut s = Server::new(config, &[b"x\r\n"]);
    s.drain();
    assert_eq!(
        s.feed(b"AUTH PLAIN AG1yb3NlAHRhbnN0YWFm\r\nSTAT\r\n"),
        "+OK maildrop has 1 messages (3 octets)\r\n+OK 1 3\r\n"
    );
}
