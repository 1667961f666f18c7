//! Every limit and every refused input: the precise reply, and that the
//! session goes on (or closes cleanly) without losing what it accepted.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{Server, tls_auth_config};
use sansmail_smtp::Output;
use sansmail_smtp::server::{AbortReason, AnswerError, Config, Event};
use sansmail_smtp::types::Reply;

fn ready(config: Config) -> Server {
    let mut s = Server::new(config);
    s.take_lines();
    s.exchange("EHLO client.example\r\n");
    s
}

fn start_data(s: &mut Server) {
    let lines = s.exchange("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
    assert!(lines.last().unwrap().starts_with("354"), "{lines:?}");
}

fn aborted(s: &Server, reason: AbortReason) -> bool {
    s.events
        .iter()
        .any(|e| matches!(e, Event::TransactionAborted { reason: r } if *r == reason))
}

#[test]
fn every_smuggling_variant_is_refused_and_closes() {
    for smuggle in [
        "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\n.\r", "\r.\n",
    ] {
        let mut s = ready(Config::default());
        // A first message is accepted before the attack.
        start_data(&mut s);
        assert_eq!(
            s.exchange("first\r\n.\r\n"),
            ["250 2.0.0 Message accepted for delivery"]
        );
        start_data(&mut s);
        let attack = format!(
            "body{smuggle}MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nforged\r\n.\r\n"
        );
        let lines = s.exchange(&attack);
        assert_eq!(
            lines,
            ["554 5.5.2 Bare CR or LF in message data, closing connection"],
            "variant {smuggle:?}"
        );
        assert!(s.closed, "variant {smuggle:?}");
        assert_eq!(
            s.messages,
            vec![b"first\r\n".to_vec()],
            "variant {smuggle:?}"
        );
        assert!(aborted(&s, AbortReason::BareLineEnding));
        assert!(!s.events.iter().any(
            |e| matches!(e, Event::MailFrom { from, .. } if from.to_string().contains("evil"))
        ));
    }
}

#[test]
fn bare_line_endings_in_commands_are_refused() {
    let mut s = ready(Config::default());
    assert_eq!(
        s.exchange("NOOP\nNOOP\r\n"),
        ["500 5.5.2 Bare CR or LF not allowed", "250 2.0.0 OK"]
    );
    assert_eq!(
        s.exchange("NO\rOP\r\nNOOP\r\n"),
        ["500 5.5.2 Bare CR or LF not allowed", "250 2.0.0 OK"]
    );
    assert!(!s.closed);
}

#[test]
fn nul_bytes_are_refused() {
    let mut s = ready(Config::default());
    assert_eq!(
        s.exchange("NOOP \0\r\n"),
        ["500 5.5.2 NUL byte not allowed"]
    );
    start_data(&mut s);
    assert_eq!(
        s.exchange("a\0b\r\n.\r\n"),
        ["554 5.6.0 NUL byte in message data"]
    );
    assert!(aborted(&s, AbortReason::NulInData));
    assert!(s.messages.is_empty());
    // The session goes on.
    start_data(&mut s);
    assert_eq!(
        s.exchange("clean\r\n.\r\n"),
        ["250 2.0.0 Message accepted for delivery"]
    );
}

#[test]
fn pipelined_starttls_injection_is_discarded() {
    let mut s = ready(tls_auth_config());
    let lines = s.exchange("STARTTLS\r\nMAIL FROM:<evil@example.com>\r\nRSET\r\n");
    assert_eq!(lines, ["220 2.0.0 Ready to start TLS"]);
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::PipelinedInputDiscarded { bytes: 36 }))
    );
    assert!(!s.events.iter().any(|e| matches!(e, Event::MailFrom { .. })));
    // After TLS the injected commands were not run: the client must greet again.
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["503 Send EHLO or HELO first"]
    );
}

#[test]
fn bytes_before_the_handshake_completes_are_dropped() {
    let mut s = ready(tls_auth_config());
    s.auto_tls = false;
    assert_eq!(s.exchange("STARTTLS\r\n"), ["220 2.0.0 Ready to start TLS"]);
    s.input(b"RSET\r\n");
    s.session.handle_tls_started(s.now);
    s.drive();
    assert!(s.take_lines().is_empty());
    assert_eq!(
        s.exchange("EHLO again.example\r\n")[0],
        "250-localhost greets you"
    );
}

#[test]
fn over_long_lines_are_refused_and_skipped() {
    let mut s = ready(Config {
        max_line_length: 100,
        ..Config::default()
    });
    let long = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(200));
    assert_eq!(
        s.exchange(&long),
        ["500 5.5.6 Line too long", "250 2.0.0 OK"]
    );
    // Split across reads, longer than the buffer limit each time.
    s.input(format!("MAIL FROM:<{}", "y".repeat(150)).as_bytes());
    s.input("y".repeat(150).as_bytes());
    s.input(b"@example.com>\r\nNOOP\r\n");
    assert_eq!(s.take_lines(), ["500 5.5.6 Line too long", "250 2.0.0 OK"]);
    // Exactly at the limit is fine.
    let exact = format!("NOOP {}\r\n", "z".repeat(100 - 7));
    assert_eq!(exact.len(), 100);
    assert_eq!(s.exchange(&exact), ["250 2.0.0 OK"]);
}

#[test]
fn too_many_recipients_keeps_the_accepted_ones() {
    let mut s = ready(Config {
        max_recipients: 2,
        ..Config::default()
    });
    let lines = s.exchange(
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.com>\r\nRCPT TO:<b2@example.com>\r\nRCPT TO:<b3@example.com>\r\nDATA\r\n",
    );
    assert_eq!(lines[3], "452 4.5.3 Too many recipients");
    assert!(lines[4].starts_with("354"));
    assert_eq!(
        s.exchange("hello\r\n.\r\n"),
        ["250 2.0.0 Message accepted for delivery"]
    );
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::MessageEnd { recipients: 2, .. }))
    );
}

#[test]
fn oversized_messages_get_552_and_the_session_goes_on() {
    let mut s = ready(Config {
        max_message_size: 100,
        ..Config::default()
    });
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com> SIZE=101\r\n"),
        ["552 5.3.4 Message size exceeds fixed maximum message size"]
    );
    // DATA that grows past the limit is read to its end, then refused.
    start_data(&mut s);
    let big = format!("{}\r\n.\r\n", "x".repeat(150));
    assert_eq!(
        s.exchange(&big),
        ["552 5.3.4 Message size exceeds fixed maximum message size"]
    );
    assert!(aborted(&s, AbortReason::MessageTooLarge));
    // BDAT the same way; the chunk's octets are consumed, not run as commands.
    let lines = s.exchange("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n");
    assert_eq!(lines.len(), 2);
    let chunk = format!("BDAT 150 LAST\r\n{}", "Q".repeat(150));
    assert_eq!(
        s.exchange(&chunk),
        ["552 5.3.4 Message size exceeds fixed maximum message size"]
    );
    // And a message within the limit still goes through.
    start_data(&mut s);
    assert_eq!(
        s.exchange("small\r\n.\r\n"),
        ["250 2.0.0 Message accepted for delivery"]
    );
    assert_eq!(s.messages, vec![b"small\r\n".to_vec()]);
}

#[test]
fn too_many_errors_close_with_421() {
    let mut s = ready(Config {
        max_errors: 3,
        ..Config::default()
    });
    let lines = s.exchange("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n");
    assert_eq!(
        lines,
        [
            "500 5.5.1 Command unrecognized",
            "500 5.5.1 Command unrecognized",
            "500 5.5.1 Command unrecognized",
            "421 4.7.0 localhost Too many errors, closing connection"
        ]
    );
    assert!(s.closed);
}

#[test]
fn idle_timeout_closes_with_421_and_drops_the_transaction() {
    let mut s = ready(Config::default());
    start_data(&mut s);
    s.input(b"partial body\r\n");
    s.advance(Duration::from_secs(299));
    assert!(s.take_lines().is_empty());
    s.advance(Duration::from_secs(2));
    assert_eq!(
        s.take_lines(),
        ["421 4.4.2 localhost Timeout, closing connection"]
    );
    assert!(s.closed);
    assert!(aborted(&s, AbortReason::Closed));
    assert!(s.messages.is_empty());
}

#[test]
fn no_timeout_while_the_application_decides() {
    let now = std::time::Instant::now();
    let mut session = sansmail_smtp::server::Session::new(Config::default(), now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    assert_eq!(session.poll_output(), Output::Timeout(None));
    session.handle_timeout(now + Duration::from_secs(3600));
    session.accept(now, ticket).unwrap();
    assert!(matches!(session.poll_output(), Output::Transmit(b) if b.starts_with(b"220 ")));
}

#[test]
fn answers_out_of_turn_are_typed_errors() {
    let now = std::time::Instant::now();
    let mut session = sansmail_smtp::server::Session::new(Config::default(), now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    let positive = Reply::text(250, (2, 0, 0), "OK").unwrap();
    assert_eq!(
        session.reject(now, ticket, positive),
        Err(AnswerError::NotNegative)
    );
    session.accept(now, ticket).unwrap();
    assert_eq!(session.accept(now, ticket), Err(AnswerError::UnknownTicket));
}

#[test]
fn eof_mid_data_aborts_and_closes() {
    let mut s = ready(Config::default());
    start_data(&mut s);
    s.input(b"half a message\r\n");
    s.session.handle_eof(s.now);
    s.drive();
    assert!(s.closed);
    assert!(aborted(&s, AbortReason::Closed));
    assert!(s.messages.is_empty());
}

#[test]
fn commands_out_of_sequence() {
    let mut s = Server::new(Config::default());
    s.take_lines();
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["503 Send EHLO or HELO first"]
    );
    s.exchange("EHLO c.example\r\n");
    assert_eq!(
        s.exchange("RCPT TO:<b@example.com>\r\n"),
        ["503 5.5.1 Need MAIL command first"]
    );
    assert_eq!(
        s.exchange("DATA\r\n"),
        ["503 5.5.1 Need MAIL command first"]
    );
    s.exchange("MAIL FROM:<a@example.com>\r\n");
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["503 5.5.1 Nested MAIL command"]
    );
    assert_eq!(s.exchange("DATA\r\n"), ["554 5.5.1 No valid recipients"]);
}

#[test]
fn parameters_are_checked() {
    let mut s = ready(Config::default());
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com> X-UNKNOWN=1\r\n")[0],
        "555 5.5.4 Parameter not recognized or not offered"
    );
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com> SIZE=1 SIZE=2\r\n")[0],
        "501 5.5.4 Duplicate parameter"
    );
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>junk\r\n")[0],
        "501 5.5.4 Syntax error in arguments: garbage after path"
    );
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com> MT-PRIORITY=3\r\n")[0],
        "555 5.5.4 Parameter not recognized or not offered"
    );
    assert_eq!(
        s.exchange("MAIL FROM:<jörg@example.com>\r\n")[0],
        "553 5.6.7 Non-ASCII address needs SMTPUTF8"
    );
    assert_eq!(
        s.exchange("MAIL FROM:<jörg@example.com> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=QQ314159\r\nRCPT TO:<ü@bücher.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com\r\n"),
        ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK"]
    );
}

#[test]
fn submission_requires_tls_and_auth() {
    let mut s = ready(Config {
        require_tls: true,
        ..tls_auth_config()
    });
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["530 5.7.0 Must issue a STARTTLS command first"]
    );
    let mut s = ready(Config {
        require_auth: true,
        implicit_tls: true,
        ..tls_auth_config()
    });
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["530 5.7.0 Authentication required"]
    );
    assert_eq!(
        s.exchange("AUTH PLAIN AHUAc2VjcmV0\r\n"),
        ["235 2.7.0 Authentication successful"]
    );
    assert_eq!(
        s.exchange("MAIL FROM:<a@example.com>\r\n"),
        ["250 2.1.0 Sender OK"]
    );
}

#[test]
fn auth_lines_have_their_own_limit() {
    let mut s = ready(Config {
        implicit_tls: true,
        max_auth_line_length: 64,
        ..tls_auth_config()
    });
    assert_eq!(s.exchange("AUTH PLAIN\r\n"), ["334 "]);
    let lines = s.exchange(&format!("{}\r\nNOOP\r\n", "A".repeat(100)));
    assert_eq!(lines, ["500 5.5.6 Line too long", "250 2.0.0 OK"]);
    assert!(!s.session.is_authenticated());
}

#[test]
fn rejected_greeting_closes() {
    let now = std::time::Instant::now();
    let mut session = sansmail_smtp::server::Session::new(Config::default(), now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    session
        .reject(
            now,
            ticket,
            Reply::text(554, (5, 7, 1), "No service for you").unwrap(),
        )
        .unwrap();
    assert!(
        matches!(session.poll_output(), Output::Transmit(b) if &b[..] == b"554 No service for you\r\n")
    );
    assert_eq!(session.poll_output(), Output::Closed);
}

#[test]
fn lmtp_refuses_an_oversized_message_once_per_recipient() {
    let mut s = Server::new(Config {
        mode: sansmail_smtp::Mode::Lmtp,
        max_message_size: 10,
        ..Config::default()
    });
    s.take_lines();
    s.exchange("LHLO client.example\r\n");
    let lines = s.exchange("MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n");
    assert!(lines[3].starts_with("354"));
    let too_large = "552 5.3.4 Message size exceeds fixed maximum message size";
    assert_eq!(
        s.exchange("more than ten octets\r\n.\r\n"),
        [too_large, too_large]
    );
    // BDAT LAST the same way; a refused middle chunk gets one reply.
    s.exchange(
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\n",
    );
    assert_eq!(s.exchange("BDAT 12\r\ntwelve bytes"), [too_large]);
    assert_eq!(s.exchange("BDAT 0 LAST\r\n"), [too_large, too_large]);
    assert_eq!(s.exchange("NOOP\r\n"), ["250 2.0.0 OK"]);
}

#[test]
fn input_piling_up_while_the_application_decides_is_bounded() {
    let now = std::time::Instant::now();
    let config = Config {
        max_message_size: 1000,
        ..Config::default()
    };
    let mut session = sansmail_smtp::server::Session::new(config, now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    session.accept(now, ticket).unwrap();
    let mut wire = Vec::new();
    let mut pending = None;
    let drain = |session: &mut sansmail_smtp::server::Session, wire: &mut Vec<u8>| loop {
        match session.poll_output() {
            Output::Transmit(b) => wire.extend_from_slice(&b),
            Output::Event(e) if matches!(e, Event::MessageEnd { .. }) => return e.ticket(),
            Output::Event(e) => {
                if let Some(t) = e.ticket() {
                    session.accept(now, t).unwrap();
                }
            }
            _ => return None,
        }
    };
    session.handle_input(now, b"EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\n");
    if let Some(t) = drain(&mut session, &mut wire) {
        pending = Some(t);
    }
    // The application is storing the message; the client keeps sending.
    let ticket = pending.expect("message waits for its answer");
    let flood = vec![b'x'; 4096];
    for _ in 0..20 {
        session.handle_input(now, &flood);
    }
    drain(&mut session, &mut wire);
    assert!(!String::from_utf8_lossy(&wire).contains("421"));
    // The message already received is answered first, then the session closes.
    session.accept(now, ticket).unwrap();
    drain(&mut session, &mut wire);
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.ends_with("250 2.0.0 Message accepted for delivery\r\n421 4.7.0 localhost Too much input while busy, closing connection\r\n"),
        "{text}"
    );
    assert_eq!(session.poll_output(), Output::Closed);
}

#[test]
fn per_recipient_answers_are_checked() {
    let now = std::time::Instant::now();
    for mode in [sansmail_smtp::Mode::Smtp, sansmail_smtp::Mode::Lmtp] {
        let mut session = sansmail_smtp::server::Session::new(
            Config {
                mode,
                ..Config::default()
            },
            now,
        );
        let hello = if mode == sansmail_smtp::Mode::Lmtp {
            "LHLO"
        } else {
            "EHLO"
        };
        session.handle_input(now, format!("{hello} c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n").as_bytes());
        let ticket = loop {
            match session.poll_output() {
                Output::Event(Event::MessageEnd { ticket, .. }) => break ticket,
                Output::Event(e) => {
                    if let Some(t) = e.ticket() {
                        session.accept(now, t).unwrap();
                    }
                }
                Output::Transmit(_) => {}
                other => panic!("{other:?}"),
            }
        };
        let ok = Reply::text(250, (2, 0, 0), "OK").unwrap();
        if mode == sansmail_smtp::Mode::Smtp {
            assert_eq!(
                session.respond_each(now, ticket, &[ok]),
                Err(AnswerError::NotLmtp)
            );
        } else {
            assert_eq!(
                session.respond_each(now, ticket, &[ok.clone(), ok.clone()]),
                Err(AnswerError::ReplyCount {
                    expected: 1,
                    got: 2
                })
            );
            assert_eq!(session.respond_each(now, ticket, &[ok]), Ok(()));
        }
    }
}

#[test]
fn the_idle_timer_starts_again_when_the_application_answers() {
    let now = std::time::Instant::now();
    let config = Config::default();
    let idle = config.idle_timeout;
    let mut session = sansmail_smtp::server::Session::new(config, now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    // The application takes four minutes to decide on the greeting.
    let answered = now + Duration::from_secs(240);
    session.accept(answered, ticket).unwrap();
    assert!(matches!(session.poll_output(), Output::Transmit(b) if b.starts_with(b"220 ")));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + idle))
    );
    // Past the client's last byte plus the idle time, but not past the answer's.
    session.handle_timeout(now + idle + Duration::from_secs(1));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + idle))
    );
    session.handle_input(answered, b"EHLO client.example\r\n");
    let Output::Event(Event::Hello { ticket, .. }) = session.poll_output() else {
        panic!()
    };
    let answered_again = answered + Duration::from_secs(200);
    session.accept(answered_again, ticket).unwrap();
    assert!(matches!(session.poll_output(), Output::Transmit(b) if b.starts_with(b"250")));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered_again + idle))
    );
}
