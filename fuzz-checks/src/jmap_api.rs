//! JMAP requests run against a real account (a maildir store in a
//! temporary directory, holding a thread of two messages and one with an
//! attachment): any bytes give an answer or a request-level problem, never
//! a panic, and an answer has a response for every call. The string
//! `ACCOUNT` in the input stands for the account's id, so the fuzzer
//! reaches the methods themselves.

use std::sync::{Arc, OnceLock};

use sansmail_jmap::{Jmap, Limits, account_id, parse_request};
use sansmail_store::maildir::Maildir;
use sansmail_store::{NewMessage, Store};

const MESSAGES: [&str; 3] = [
    "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Lunch\r\nMessage-ID: <a@x>\r\n\r\nNoon?\r\n",
    "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: Re: Lunch\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\nYes.\r\n",
    "From: carol@example.net\r\nSubject: Report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
     --b\r\nContent-Type: text/html\r\n\r\n<p>See <b>attached</b></p>\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
     Subject: inner\r\n\r\nold\r\n--b--\r\n",
];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    jmap: Jmap,
    account: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sansmail-fuzz-jmap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let maildir = Maildir::open(&dir.join("mail"), "fuzz").expect("a maildir");
        let store = Arc::new(Store::new(Box::new(maildir), None));
        runtime.block_on(async {
            let account = store.account("alice").await.expect("the account");
            let inbox = account.open("INBOX").await.expect("the inbox");
            let messages = MESSAGES
                .iter()
                .map(|m| NewMessage::bytes(m.as_bytes().to_vec()))
                .collect();
            inbox.append(messages).await.expect("the messages");
        });
        let jmap =
            Jmap::new(store, Limits::default(), vec!["example.com".into()]).with_settings_dir(dir);
        Fixture {
            runtime,
            jmap,
            account: account_id("alice"),
        }
    })
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let fixture = fixture();
    let text = String::from_utf8_lossy(data).replace("ACCOUNT", &fixture.account);
    let answer = fixture
        .runtime
        .block_on(fixture.jmap.api("alice", text.as_bytes()));
    if let Ok(answer) = answer {
        let calls = parse_request(text.as_bytes(), fixture.jmap.limits())
            .expect("an answered request parses")
            .calls
            .len();
        let responses = answer["methodResponses"]
            .as_array()
            .expect("methodResponses is a list")
            .len();
        assert!(responses >= calls, "{responses} responses to {calls} calls");
    }
}
