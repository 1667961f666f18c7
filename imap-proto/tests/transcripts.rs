//! Server transcripts in the style of RFC 9051's examples, replayed through
//! a session backed by a small in-memory store.

mod common;

use std::time::Duration;

use common::{Harness, nz};
use sansmail_imap::mailbox::Change;
use sansmail_imap::server::{Config, Event};
use sansmail_imap::types::Flag;

fn caps_line(out: &str) -> &str {
    out.lines().next().unwrap_or_default()
}

#[test]
fn greeting_capability_and_logout() {
    let mut h = Harness::new(Config::default());
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::Connected { .. }))
    );
    let out = h.send(b"a1 CAPABILITY\r\n");
    let caps = caps_line(&out);
    assert!(caps.starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED LITERAL+ "));
    assert!(
        caps.contains(" IDLE ")
            && caps.contains(" QRESYNC ")
            && caps.contains(" APPENDLIMIT=67108864 ")
    );
    assert!(!caps.contains("AUTH="), "no mechanisms before TLS: {caps}");
    assert!(out.ends_with("a1 OK CAPABILITY completed\r\n"));
    assert_eq!(
        h.send(b"a2 LOGOUT\r\n"),
        "* BYE Logging out\r\na2 OK LOGOUT completed\r\n"
    );
    assert!(h.closed);
}

#[test]
fn login_needs_tls_and_starttls_drops_pipelined_input() {
    let mut h = Harness::new(Config::default());
    assert_eq!(
        h.send(b"a1 LOGIN alice secret\r\n"),
        "a1 NO [PRIVACYREQUIRED] LOGIN needs TLS first\r\n"
    );
    // A command pipelined behind STARTTLS is plaintext an attacker could
    // inject: it is dropped, not run after the handshake.
    assert_eq!(
        h.send(b"a2 STARTTLS\r\na3 LOGIN alice secret\r\n"),
        "a2 OK Begin TLS negotiation now\r\n<TLS>"
    );
    // The application is told, as by the SMTP and POP3 sessions.
    assert_eq!(
        h.events.last(),
        Some(&Event::PipelinedInputDiscarded { bytes: 23 })
    );
    let out = h.send(b"a4 CAPABILITY\r\n");
    assert!(!caps_line(&out).contains("STARTTLS") && caps_line(&out).contains("AUTH=PLAIN"));
    let out = h.send(b"a5 LOGIN alice secret\r\n");
    assert!(
        out.starts_with("a5 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+"),
        "{out}"
    );
    assert!(h.send(b"a6 STARTTLS\r\n").starts_with("a6 BAD"));
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let mut h = Harness::plaintext();
    // "\0alice\0secret"
    assert!(
        h.send(b"a1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            .starts_with("a1 OK [CAPABILITY")
    );
    let mut h = Harness::plaintext();
    assert_eq!(h.send(b"a1 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        h.send(b"AGFsaWNlAHdyb25n\r\n"),
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(h.send(b"a2 AUTHENTICATE LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(h.send(b"YWxpY2U=\r\n"), "+ UGFzc3dvcmQ6\r\n");
    assert!(h.send(b"c2VjcmV0\r\n").starts_with("a2 OK [CAPABILITY"));
    let mut h = Harness::plaintext();
    assert_eq!(h.send(b"a1 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(h.send(b"*\r\n"), "a1 BAD Authentication canceled\r\n");
    assert_eq!(
        h.send(b"a2 AUTHENTICATE GSSAPI\r\n"),
        "a2 NO [CANNOT] Unsupported authentication mechanism\r\n"
    );
}

fn logged_in() -> Harness {
    let mut h = Harness::plaintext();
    assert!(h.send(b"a0 LOGIN alice secret\r\n").contains("a0 OK"));
    h
}

#[test]
fn select_fetch_store_search() {
    let mut h = logged_in();
    assert_eq!(
        h.send(b"a1 FETCH 1 FLAGS\r\n"),
        "a1 BAD No mailbox selected\r\n"
    );
    assert_eq!(
        h.send(b"a2 SELECT INBOX\r\n"),
        "* 3 EXISTS\r\n\
         * 0 RECENT\r\n\
         * OK [UIDVALIDITY 1234] UIDs valid\r\n\
         * OK [UIDNEXT 4] Predicted next UID\r\n\
         * FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n\
         * OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] Limited\r\n\
         * OK [UNSEEN 2] First unseen\r\n\
         a2 OK [READ-WRITE] SELECT completed\r\n"
    );
    assert_eq!(
        h.send(b"a3 FETCH 1:* (FLAGS)\r\n"),
        "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS (\\Flagged))\r\na3 OK FETCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a4 UID FETCH 2 BODY.PEEK[]\r\n"),
        "* 2 FETCH (UID 2 BODY[] {24}\r\nSubject: two\r\n\r\nsecond\r\n)\r\na4 OK FETCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a5 STORE 2 +FLAGS (\\Deleted)\r\n"),
        "* 2 FETCH (FLAGS (\\Deleted))\r\na5 OK STORE completed\r\n"
    );
    assert_eq!(
        h.send(b"a6 SEARCH UNSEEN\r\n"),
        "* SEARCH 2 3\r\na6 OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a7 UID SEARCH RETURN (MIN MAX COUNT ALL) ALL\r\n"),
        "* ESEARCH (TAG \"a7\") UID MIN 1 MAX 3 COUNT 3 ALL 1:3\r\na7 OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a8 FETCH 9 FLAGS\r\n"),
        "a8 BAD Message number out of range\r\n"
    );
    assert_eq!(
        h.send(b"a9 EXPUNGE\r\n"),
        "* 2 EXPUNGE\r\na9 OK EXPUNGE completed\r\n"
    );
    assert_eq!(
        h.send(b"a10 FETCH 2 UID\r\n"),
        "* 2 FETCH (UID 3)\r\na10 OK FETCH completed\r\n"
    );
}

#[test]
fn searchres_saves_and_dollar_reads_it() {
    let mut h = logged_in();
    h.send(b"a1 SELECT INBOX\r\n");
    // SAVE alone answers nothing but OK; `$` then names the saved messages.
    assert_eq!(
        h.send(b"a2 SEARCH RETURN (SAVE) FLAGGED\r\n"),
        "a2 OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a3 FETCH $ (UID)\r\n"),
        "* 3 FETCH (UID 3)\r\na3 OK FETCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a4 UID FETCH $ FLAGS\r\n"),
        "* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\na4 OK FETCH completed\r\n"
    );
    assert_eq!(
        h.send(b"a5 SEARCH RETURN (SAVE) DELETED\r\n"),
        "a5 OK SEARCH completed\r\n"
    );
    // Nothing saved matches: the command has nothing to do.
    assert_eq!(h.send(b"a6 FETCH $ FLAGS\r\n"), "a6 OK FETCH completed\r\n");
}

#[test]
fn expunges_from_others_wait_during_fetch_by_number() {
    let mut h = logged_in();
    h.send(b"a1 SELECT INBOX\r\n");
    h.folders.get_mut("INBOX").unwrap().messages.remove(0);
    h.change(Change::Expunged { uid: nz(1) });
    h.change(Change::Flags {
        uid: nz(3),
        flags: vec![],
        modseq: None,
    });
    // FETCH by number: the expunge (and everything after it) must wait.
    let out = h.send(b"a2 FETCH 3 UID\r\n");
    assert_eq!(out, "* 3 FETCH (UID 3)\r\na2 OK FETCH completed\r\n");
    // UID FETCH may report it, after its own data (numbered as the client
    // still knows it); the flag change follows with the new number.
    let out = h.send(b"a3 UID FETCH 3 UID\r\n");
    assert_eq!(
        out,
        "* 3 FETCH (UID 3)\r\n* 1 EXPUNGE\r\n* 2 FETCH (FLAGS ())\r\na3 OK FETCH completed\r\n"
    );
}

#[test]
fn idle_pushes_changes_at_once() {
    let mut h = logged_in();
    h.send(b"a1 SELECT INBOX\r\n");
    assert_eq!(h.send(b"a2 IDLE\r\n"), "+ idling\r\n");
    assert!(h.events.contains(&Event::IdleStarted));
    h.folders.get_mut("INBOX").unwrap().add(b"x", vec![]);
    assert_eq!(h.change(Change::Added { uid: nz(4) }), "* 4 EXISTS\r\n");
    assert_eq!(h.change(Change::Expunged { uid: nz(2) }), "* 2 EXPUNGE\r\n");
    assert_eq!(h.send(b"DONE\r\n"), "a2 OK IDLE terminated\r\n");
    assert_eq!(h.send(b"a3 IDLE\r\n"), "+ idling\r\n");
    assert_eq!(h.send(b"a4 NOOP\r\n"), "a3 BAD Expected DONE\r\n");
}

#[test]
fn qresync_select_reports_vanished_and_uses_vanished() {
    let mut h = logged_in();
    assert_eq!(
        h.send(b"a1 ENABLE QRESYNC\r\n"),
        "* ENABLED QRESYNC\r\na1 OK ENABLE completed\r\n"
    );
    let out = h.send(b"a2 SELECT INBOX (QRESYNC (1234 1 1:5))\r\n");
    assert!(out.contains("* OK [HIGHESTMODSEQ 4] Highest\r\n"), "{out}");
    assert!(out.contains("* VANISHED (EARLIER) 4:5\r\n"), "{out}");
    h.send(b"a3 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    assert_eq!(
        h.send(b"a4 EXPUNGE\r\n"),
        "* VANISHED 1\r\na4 OK EXPUNGE completed\r\n"
    );
    // SELECT of another mailbox closes this one first.
    let out = h.send(b"a5 EXAMINE Trash\r\n");
    assert!(
        out.starts_with("* OK [CLOSED] Previous mailbox closed\r\n* 0 EXISTS\r\n"),
        "{out}"
    );
    assert!(out.ends_with("a5 OK [READ-ONLY] EXAMINE completed\r\n"));
}

#[test]
fn append_streams_and_multiappend_is_all_or_nothing() {
    let mut h = logged_in();
    let out = h.send(b"a1 APPEND INBOX (\\Seen) {11}\r\n");
    assert_eq!(out, "+ Ready for literal data\r\n");
    let out = h.send(b"Hello world\r\n");
    assert_eq!(out, "a1 OK [APPENDUID 1234 4] APPEND completed\r\n");
    assert_eq!(h.folders["INBOX"].messages[3].data, b"Hello world");
    // LITERAL+ and MULTIAPPEND in one go.
    let out = h.send(b"a2 APPEND Trash {1+}\r\nA (\\Draft) {2+}\r\nBC\r\n");
    assert_eq!(out, "a2 OK [APPENDUID 1234 1:2] APPEND completed\r\n");
    // The second message goes to a mailbox... the same one: MULTIAPPEND has
    // one target. A refused message (here: the target is missing) drops all.
    let out = h.send(b"a3 APPEND Nowhere {1}\r\n");
    assert_eq!(out, "a3 NO [TRYCREATE] No such mailbox\r\n");
    // The client must not send the literal after a NO: the next line is a command.
    assert_eq!(h.send(b"a4 NOOP\r\n"), "a4 OK NOOP completed\r\n");
    // A non-synchronising literal to a missing mailbox is read and dropped.
    let out = h.send(b"a5 APPEND Nowhere {3+}\r\nxyz\r\na6 NOOP\r\n");
    assert_eq!(
        out,
        "a5 NO [TRYCREATE] No such mailbox\r\na6 OK NOOP completed\r\n"
    );
}

#[test]
fn append_too_big_is_refused_before_the_data() {
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_append = 10;
    let mut h = Harness::new(config);
    h.send(b"a0 LOGIN alice secret\r\n");
    assert_eq!(
        h.send(b"a1 APPEND INBOX {2000000000}\r\n"),
        "a1 NO [TOOBIG] Message too large\r\n"
    );
    assert_eq!(
        h.send(b"a2 APPEND INBOX {11+}\r\nHello world\r\na3 NOOP\r\n"),
        "a2 NO [TOOBIG] Message too large\r\na3 OK NOOP completed\r\n"
    );
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, Event::AppendStart { .. }))
    );
    assert!(h.send(b"a4 APPEND INBOX {10}\r\n").starts_with("+ "));
}

#[test]
fn literal_and_line_limits() {
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_literal = 8;
    config.max_line = 100;
    let mut h = Harness::new(config);
    h.send(b"a0 LOGIN alice secret\r\n");
    assert_eq!(
        h.send(b"a1 LOGIN {9}\r\n"),
        "a1 BAD [TOOBIG] Literal too large\r\n"
    );
    // A refused non-synchronising literal is skipped with its command.
    assert_eq!(
        h.send(b"a2 SELECT {9+}\r\nINBOX/abc\r\na3 NOOP\r\n"),
        "a2 BAD [TOOBIG] Literal too large\r\na3 OK NOOP completed\r\n"
    );
    assert_eq!(h.send(b"a4 SELECT {5}\r\n"), "+ Ready for literal data\r\n");
    assert!(
        h.send(b"INBOX\r\n")
            .ends_with("a4 OK [READ-WRITE] SELECT completed\r\n")
    );
    // Nesting beyond the limit is BAD, and the session goes on.
    let deep = format!("a5 SEARCH {}ALL{}\r\n", "(".repeat(40), ")".repeat(40));
    assert!(h.send(deep.as_bytes()).starts_with("a5 BAD"));
    assert_eq!(h.send(b"a6 NOOP\r\n"), "a6 OK NOOP completed\r\n");
    // A line past the limit cannot be told from what follows: BYE and close.
    let long = format!("a7 NOOP {}\r\n", "x".repeat(200));
    assert_eq!(
        h.send(long.as_bytes()),
        "* BYE [TOOBIG] Command line too long\r\n"
    );
    assert!(h.closed);
}

#[test]
fn bare_line_endings_and_errors() {
    let mut h = logged_in();
    assert_eq!(h.send(b"a1 NOOP\n"), "a1 BAD Line must end with CRLF\r\n");
    assert_eq!(
        h.send(b"a2 NO\rOP\r\n"),
        "a2 BAD Line must end with CRLF\r\n"
    );
    assert_eq!(
        h.send(b"a3 FROB\r\n"),
        "a3 BAD Syntax error: expected command name\r\n"
    );
    assert_eq!(
        h.send(b"+ NOOP\r\n"),
        "* BAD Syntax error: expected tag\r\n"
    );
    assert_eq!(h.send(b"a4 NOOP\r\n"), "a4 OK NOOP completed\r\n");
}

#[test]
fn too_many_errors_close() {
    let mut config = Config::default();
    config.max_errors = 3;
    let mut h = Harness::new(config);
    h.send(b"a FROB\r\nb FROB\r\n");
    assert_eq!(
        h.send(b"c FROB\r\n"),
        "c BAD Syntax error: expected command name\r\n* BYE Too many errors\r\n"
    );
    assert!(h.closed);
}

#[test]
fn autologout_after_inactivity() {
    let mut h = Harness::new(Config::default());
    assert_eq!(h.advance(Duration::from_secs(30)), "");
    assert_eq!(
        h.advance(Duration::from_secs(31)),
        "* BYE Autologout; idle for too long\r\n"
    );
    assert!(h.closed);
    let mut h = logged_in();
    assert_eq!(h.advance(Duration::from_secs(29 * 60)), "");
    assert_eq!(
        h.advance(Duration::from_secs(60)),
        "* BYE Autologout; idle for too long\r\n"
    );
}

#[test]
fn move_reports_copyuid_then_expunges() {
    let mut h = logged_in();
    h.send(b"a1 SELECT INBOX\r\n");
    assert_eq!(
        h.send(b"a2 UID MOVE 1:2 Trash\r\n"),
        "* OK [COPYUID 1234 1:2 1:2] Moved\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na2 OK MOVE completed\r\n"
    );
    assert_eq!(h.folders["Trash"].messages.len(), 2);
    assert_eq!(h.folders["INBOX"].messages[0].flags, vec![Flag::Flagged]);
}

#[test]
fn pipelined_commands_run_in_order_and_byte_by_byte_gives_the_same() {
    let script: &[u8] = b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 FETCH 1:* FLAGS\r\na4 LOGIN {5}\r\nalice {6}\r\nsecret\r\na5 LOGOUT\r\n";
    let mut whole = Harness::plaintext();
    let a = whole.send(script);
    let mut bytewise = Harness::plaintext();
    let b = bytewise.send_bytewise(script);
    assert_eq!(a, b);
    assert!(
        a.contains("a4 BAD Already logged in\r\n") && a.ends_with("a5 OK LOGOUT completed\r\n"),
        "{a}"
    );
}

#[test]
fn compress_deflate_after_login() {
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
    let mut h = logged_in();
    let out = h.send(b"a1 COMPRESS DEFLATE\r\n");
    assert_eq!(out, "a1 OK DEFLATE active\r\n");
    let mut c = Compress::new(Compression::default(), false);
    let mut d = Decompress::new(false);
    let mut wire = Vec::with_capacity(256);
    c.compress_vec(
        b"a2 NOOP\r\na3 COMPRESS DEFLATE\r\n",
        &mut wire,
        FlushCompress::Sync,
    )
    .unwrap();
    h.session.handle_input(h.now, &wire);
    let mut raw = Vec::new();
    loop {
        match h.session.poll_output() {
            sansmail_imap::Output::Transmit(b) => raw.extend_from_slice(&b),
            sansmail_imap::Output::Timeout(_) => break,
            other => panic!("{other:?}"),
        }
    }
    let mut plain = Vec::with_capacity(1024);
    d.decompress_vec(&raw, &mut plain, FlushDecompress::Sync)
        .unwrap();
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        "a2 OK NOOP completed\r\na3 NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS\r\n"
    );
    // Garbage instead of DEFLATE data ends the session.
    h.session.handle_input(h.now, b"\xff\xff\xff\xff");
    h.drain();
    assert!(h.closed);
}

#[test]
fn pipelined_input_past_the_bound_closes_after_the_pending_answer() {
    use sansmail_imap::Output;
    use sansmail_imap::server::Session;
    use sansmail_imap::types::StatusKind;
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_pipelined = 100;
    #[allow(clippy::disallowed_methods)] // the virtual clock starts at now
    let now = std::time::Instant::now();
    let mut session = Session::new(config, now);
    let mut wire = String::new();
    let mut pending = None;
    let drain = |session: &mut Session, wire: &mut String, pending: &mut Option<_>| loop {
        match session.poll_output() {
            Output::Transmit(b) => wire.push_str(&String::from_utf8_lossy(&b)),
            Output::Event(Event::Command { ticket, .. }) => *pending = Some(ticket),
            Output::Event(e) => {
                if let Some(t) = e.ticket() {
                    session.accept(now, t).unwrap();
                }
            }
            Output::Timeout(_) | Output::Closed | Output::StartTls => return,
        }
    };
    drain(&mut session, &mut wire, &mut pending);
    session.handle_input(now, b"a LOGIN alice secret\r\nb SELECT INBOX\r\n");
    drain(&mut session, &mut wire, &mut pending);
    let ticket = pending.take().expect("SELECT waits for the store");
    // 30 NOOPs pile up while the store works: past 100 octets.
    session.handle_input(now, "c NOOP\r\n".repeat(30).as_bytes());
    session
        .complete(now, ticket, StatusKind::No, None, "No such mailbox")
        .unwrap();
    drain(&mut session, &mut wire, &mut pending);
    assert!(
        wire.ends_with("b NO No such mailbox\r\n* BYE [LIMIT] Too many commands in flight\r\n"),
        "{wire}"
    );
    assert_eq!(session.poll_output(), Output::Closed);
}

#[test]
fn whole_command_size_is_bounded() {
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_command = 60;
    let mut h = Harness::new(config);
    h.send(b"a0 LOGIN alice secret\r\n");
    h.send(b"a1 SELECT INBOX\r\n");
    // Each literal is small, but together they pass the bound.
    assert_eq!(
        h.send(b"a2 SEARCH TEXT {20}\r\n"),
        "+ Ready for literal data\r\n"
    );
    assert_eq!(
        h.send(b"aaaaaaaaaaaaaaaaaaaa TEXT {20}\r\n"),
        "a2 BAD [TOOBIG] Literal too large\r\n"
    );
    // Non-synchronising: the octets come anyway and are skipped with the command.
    assert_eq!(
        h.send(b"a3 SEARCH TEXT {20+}\r\naaaaaaaaaaaaaaaaaaaa TEXT {20+}\r\nbbbbbbbbbbbbbbbbbbbb\r\na4 NOOP\r\n"),
        "a3 BAD [TOOBIG] Literal too large\r\na4 OK NOOP completed\r\n"
    );
    // A long line without literals.
    let long = format!("a5 SEARCH TEXT {}\r\n", "x".repeat(70));
    assert_eq!(
        h.send(long.as_bytes()),
        "a5 BAD [TOOBIG] Command too long\r\n"
    );
    assert_eq!(h.send(b"a6 NOOP\r\n"), "a6 OK NOOP completed\r\n");
}

#[test]
fn bearer_tokens_succeed_or_fail_through_an_error_challenge() {
    use sansmail_imap::sasl::{Mechanism, encode_xoauth2};
    let b64 = |raw: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(raw)
    };
    let config = || {
        let mut c = Config::default();
        c.allow_plaintext_auth = true;
        c.mechanisms = vec![Mechanism::Plain, Mechanism::XOAuth2];
        c
    };
    let mut h = Harness::new(config());
    let line = format!(
        "a1 AUTHENTICATE XOAUTH2 {}\r\n",
        b64(&encode_xoauth2("alice", "token"))
    );
    assert!(h.send(line.as_bytes()).starts_with("a1 OK [CAPABILITY"));
    assert_eq!(h.send(b"a2 NOOP\r\n"), "a2 OK NOOP completed\r\n");
    // Refused: RFC 7628 §3.2.2 wants an error challenge, the client's empty
    // answer, then NO.
    let mut h = Harness::new(config());
    h.answer_login = false;
    let out = h.send(line.as_bytes());
    assert!(
        out.starts_with("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="),
        "{out}"
    );
    assert_eq!(
        h.send(b"\r\n"),
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(h.send(b"a2 NOOP\r\n"), "a2 OK NOOP completed\r\n");
}

#[test]
fn long_message_data_is_sent_as_given_even_before_compress() {
    use bytes::Bytes;
    use sansmail_imap::Output;
    use sansmail_imap::server::Session;
    use sansmail_imap::types::{CommandBody, FetchAttr, FetchValue, Section, StatusKind};
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    #[allow(clippy::disallowed_methods)] // the virtual clock starts at now
    let now = std::time::Instant::now();
    let mut session = Session::new(config, now);
    let body = Bytes::from(vec![b'x'; 100_000]);
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut feed: &[&[u8]] =
        &[b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 BODY[]\r\nd COMPRESS DEFLATE\r\n"];
    loop {
        match session.poll_output() {
            Output::Transmit(b) => chunks.push(b),
            Output::Event(Event::Command { ticket, command }) => match command {
                CommandBody::Select { .. } => {
                    let info = sansmail_imap::server::SelectInfo {
                        uid_validity: common::nz(1),
                        uid_next: common::nz(2),
                        uids: vec![common::nz(1)],
                        flags: vec![],
                        permanent_flags: vec![],
                        highest_modseq: None,
                        recent: 0,
                        first_unseen: None,
                        read_only: false,
                        changed: vec![],
                        vanished: None,
                        mailbox_id: None,
                    };
                    session.selected(now, ticket, info).unwrap();
                }
                CommandBody::Fetch { items, .. } => {
                    assert!(matches!(&items.expand()[0], FetchAttr::BodySection { .. }));
                    let value = FetchValue::BodySection {
                        section: Section::default(),
                        origin: None,
                        data: Some(body.clone()),
                    };
                    session.fetch(ticket, common::nz(1), vec![value]).unwrap();
                    session
                        .complete(now, ticket, StatusKind::Ok, None, "FETCH completed")
                        .unwrap();
                }
                other => panic!("{other:?}"),
            },
            Output::Event(e) => {
                if let Some(t) = e.ticket() {
                    session.accept(now, t).unwrap();
                }
            }
            Output::Timeout(_) => match feed.split_first() {
                Some((next, rest)) => {
                    session.handle_input(now, next);
                    feed = rest;
                }
                None => break,
            },
            Output::StartTls | Output::Closed => break,
        }
    }
    // The body went out as the very buffer the application gave.
    assert!(
        chunks
            .iter()
            .any(|c| c.as_ptr() == body.as_ptr() && c.len() == body.len())
    );
    // Everything up to COMPRESS's OK is plain, in order.
    let wire: Vec<u8> = chunks.concat();
    let text = String::from_utf8_lossy(&wire);
    let fetch = text
        .find("* 1 FETCH (BODY[] {100000}\r\nxxx")
        .expect("FETCH response");
    let done = text
        .find("c OK FETCH completed\r\nd OK DEFLATE active\r\n")
        .expect("OKs");
    assert!(fetch < done);
    assert!(text.ends_with("d OK DEFLATE active\r\n"));
}

#[test]
fn condstore_turns_on_with_the_first_command_that_uses_it() {
    let mut h = Harness::plaintext();
    h.send(b"a1 LOGIN alice secret\r\n");
    let out = h.send(b"a2 SELECT INBOX\r\n");
    assert!(!out.contains("HIGHESTMODSEQ"), "not asked for yet: {out}");
    // RFC 7162 §3.1: FETCH MODSEQ turns CONDSTORE on; the client is told
    // the mailbox's HIGHESTMODSEQ before the answer.
    let out = h.send(b"a3 FETCH 1 (MODSEQ)\r\n");
    assert!(
        out.starts_with("* OK [HIGHESTMODSEQ 4] Highest\r\n"),
        "{out}"
    );
    assert!(out.contains("* 1 FETCH (MODSEQ (2))"), "{out}");
    assert!(h.events.iter().any(|e| matches!(e, Event::Enabled { capabilities } if capabilities == &[sansmail_imap::types::Capability::CondStore])));
    let again = h.send(b"a4 FETCH 2 (MODSEQ)\r\n");
    assert!(
        !again.contains("HIGHESTMODSEQ"),
        "only the first time: {again}"
    );
}

#[test]
fn esearch_gives_the_modseq_of_the_messages_it_returns() {
    let mut h = Harness::plaintext();
    h.send(b"a1 LOGIN alice secret\r\n");
    h.send(b"a2 SELECT INBOX (CONDSTORE)\r\n");
    // Messages 1, 2, 3 have mod-sequences 2, 3, 4.
    let out = h.send(b"a3 SEARCH RETURN (MIN) MODSEQ 1\r\n");
    assert!(
        out.contains("* ESEARCH (TAG \"a3\") MIN 1 MODSEQ 2\r\n"),
        "{out}"
    );
    let out = h.send(b"a4 SEARCH RETURN (MAX) MODSEQ 1\r\n");
    assert!(
        out.contains("* ESEARCH (TAG \"a4\") MAX 3 MODSEQ 4\r\n"),
        "{out}"
    );
    let out = h.send(b"a5 SEARCH RETURN (MIN MAX) 1:2 MODSEQ \"/flags/\\\\seen\" all 1\r\n");
    assert!(
        out.contains("* ESEARCH (TAG \"a5\") MIN 1 MAX 2 MODSEQ 3\r\n"),
        "{out}"
    );
    let out = h.send(b"a6 SEARCH RETURN (ALL) MODSEQ 1\r\n");
    assert!(out.contains("ALL 1:3 MODSEQ 4\r\n"), "{out}");
}

#[test]
fn recursivematch_alone_is_bad() {
    let mut h = Harness::plaintext();
    h.send(b"a1 LOGIN alice secret\r\n");
    for (tag, options) in [
        ("a2", "(RECURSIVEMATCH)"),
        ("a3", "(RECURSIVEMATCH REMOTE)"),
    ] {
        let out = h.send(format!("{tag} LIST {options} \"\" \"*\"\r\n").as_bytes());
        assert!(out.starts_with(&format!("{tag} BAD ")), "{out}");
    }
}

#[test]
fn a_huge_literal_before_login_closes_the_connection_unread() {
    // RFC 7888 §4: it would be read only to be thrown away.
    for command in [
        &b"a1 LOGIN {100000000+}\r\n"[..],
        &b"a1 APPEND INBOX {100000000+}\r\n"[..],
    ] {
        let mut h = Harness::plaintext();
        let out = h.send(command);
        assert_eq!(
            out,
            "a1 BAD [TOOBIG] Literal too large\r\n* BYE Literal too large before login\r\n",
            "{}",
            String::from_utf8_lossy(command)
        );
        assert!(h.closed);
    }
    // After login, a too-large literal is skipped and the session goes on.
    let mut h = Harness::plaintext();
    h.send(b"a1 LOGIN alice secret\r\n");
    let out = h.send(
        format!(
            "a2 SELECT {{70000+}}\r\n{}\r\na3 NOOP\r\n",
            "x".repeat(70000)
        )
        .as_bytes(),
    );
    assert!(
        out.starts_with("a2 BAD [TOOBIG]") && out.ends_with("a3 OK NOOP completed\r\n"),
        "{out}"
    );
    assert!(!h.closed);
}

#[test]
fn the_idle_timer_starts_again_when_the_application_answers() {
    use sansmail_imap::Output;
    use sansmail_imap::server::Session;
    #[allow(clippy::disallowed_methods)] // the virtual clock starts at now
    let now = std::time::Instant::now();
    let config = Config::default();
    let login = config.login_timeout;
    let mut session = Session::new(config, now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    // The application takes a while to decide on the greeting.
    let answered = now + login / 2;
    session.accept(answered, ticket).unwrap();
    assert!(matches!(session.poll_output(), Output::Transmit(b) if b.starts_with(b"* OK")));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + login))
    );
    // Past the client's last byte plus the timeout, but not past the answer.
    session.handle_timeout(now + login + Duration::from_secs(1));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + login))
    );
}
