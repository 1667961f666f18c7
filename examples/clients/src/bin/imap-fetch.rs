//! imap-fetch: lists an IMAP account's folders and prints the envelopes of
//! the unseen messages in one of them; with `--idle` it then waits and
//! prints each new arrival as the server pushes it (RFC 2177).
//!
//! Output, one line each: `folder NAME`, then `message UID | FROM | SUBJECT
//! | DATE` for each unseen message, then with `--idle` an `idling` line and
//! one `message` line per arrival.

use std::io::Write;
use std::num::NonZeroU32;
use std::time::Duration;

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_examples::stream::Connection;
use sansmail_examples::tls::Trust;
use sansmail_imap::client::{Config, Event, Session, TlsPolicy};
use sansmail_imap::driver::{Driver, Step as Drive, Tls, now};
use sansmail_imap::types::*;
use sansmail_mime::decode_header_text;

const USAGE: &str =
    "usage: imap-fetch --server HOST:PORT [--starttls | --tls] --user NAME --password P
                  [--mailbox NAME] [--idle] [--ca PEM | --insecure]

  --server HOST:PORT  the IMAP server
  --starttls          upgrade with STARTTLS (required to succeed)
  --tls               TLS from the start (port 993 style)
                      (neither: plaintext, password sent in the clear)
  --user NAME         user name
  --password P        password
  --mailbox NAME      the folder to read (default INBOX)
  --idle              after listing, wait and print each new message
  --ca PEM            trust only these certificates (default: the Mozilla roots)
  --insecure          accept any certificate (testing only)";

struct Options {
    server: String,
    tls: Option<&'static str>,
    user: String,
    password: String,
    mailbox: String,
    idle: bool,
    trust: Trust,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let (mut server, mut user, mut password) = (None, None, None);
    let mut o = Options {
        server: String::new(),
        tls: None,
        user: String::new(),
        password: String::new(),
        mailbox: "INBOX".into(),
        idle: false,
        trust: Trust::WebPki,
    };
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--server" => server = Some(args.value(&arg)?),
            "--starttls" | "--tls" if o.tls.is_some() => {
                return Err(UsageError("--starttls and --tls exclude each other".into()));
            }
            "--starttls" => o.tls = Some("starttls"),
            "--tls" => o.tls = Some("tls"),
            "--user" => user = Some(args.value(&arg)?),
            "--password" => password = Some(args.value(&arg)?),
            "--mailbox" => o.mailbox = args.value(&arg)?,
            "--idle" => o.idle = true,
            "--ca" => o.trust = Trust::PemFile(args.value(&arg)?.into()),
            "--insecure" => o.trust = Trust::Insecure,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(UsageError(format!("unknown argument {other:?}"))),
        }
    }
    let missing = |what: &str| UsageError(format!("{what} is required"));
    o.server = server.ok_or_else(|| missing("--server"))?;
    o.user = user.ok_or_else(|| missing("--user"))?;
    o.password = password.ok_or_else(|| missing("--password"))?;
    Ok(o)
}

#[tokio::main]
async fn main() {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    if let Err(e) = run(&options).await {
        args::exit_error(e);
    }
}

/// What the program waits for.
#[derive(Debug, PartialEq)]
enum Stage {
    List(Tag),
    Select(Tag),
    Search(Tag),
    Fetch(Tag),
    /// IDLE runs; the tag is IDLE's.
    Idle(Tag),
    /// DONE was sent; after IDLE's OK, fetch what arrived.
    Done(Tag),
    Logout(Tag),
}

fn text(s: &Option<Str>) -> String {
    s.as_deref()
        .map(|b| decode_header_text(b).text.into_owned())
        .unwrap_or_default()
}

fn address(list: &[EnvelopeAddress]) -> String {
    list.iter()
        .filter(|a| a.host.is_some())
        .map(|a| {
            let mailbox = format!(
                "{}@{}",
                String::from_utf8_lossy(a.mailbox.as_deref().unwrap_or_default()),
                String::from_utf8_lossy(a.host.as_deref().unwrap_or_default())
            );
            match &a.name {
                Some(_) => format!("{} <{mailbox}>", text(&a.name)),
                None => mailbox,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_envelope(items: &[FetchValue]) {
    let uid = items.iter().find_map(|i| match i {
        FetchValue::Uid(u) => Some(u.get()),
        _ => None,
    });
    let envelope = items.iter().find_map(|i| match i {
        FetchValue::Envelope(e) => Some(e),
        _ => None,
    });
    if let (Some(uid), Some(e)) = (uid, envelope) {
        println!(
            "message {uid} | {} | {} | {}",
            address(&e.from),
            text(&e.subject),
            text(&e.date)
        );
        let _ = std::io::stdout().flush();
    }
}

fn fetch_envelopes(session: &mut Session, set: SequenceSet) -> Result<Tag, String> {
    session
        .command(
            now(),
            CommandBody::Fetch {
                uid: true,
                set,
                items: FetchItems::Attrs(vec![FetchAttr::Uid, FetchAttr::Envelope]),
                changed_since: None,
                vanished: false,
            },
        )
        .map_err(|e| e.to_string())
}

async fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let conn = Connection::open(&o.server, &o.trust, o.tls == Some("tls")).await?;
    let mut config = Config::password(&o.user, &o.password);
    match o.tls {
        Some("tls") => {
            config.implicit_tls = true;
            config.tls = TlsPolicy::Disabled;
        }
        Some(_) => config.tls = TlsPolicy::Required,
        None => {
            config.tls = TlsPolicy::Disabled;
            config.allow_plaintext_auth = true;
        }
    }
    let mailbox = Mailbox::from_name(&o.mailbox).map_err(|e| e.to_string())?;
    let session = Session::new(config, now());
    let tls = Tls::Client(conn.connector.clone(), conn.server_name.clone());
    let mut driver = Driver::new(session, conn.stream, tls);
    let mut step: Option<Stage> = None;
    // The highest UID printed or known, and the message count the server gave.
    let mut last_uid = 0u32;
    let mut exists = 0u32;
    let mut arrived = false;
    // Only UIDs above this are printed (`n:*` names the last UID even when it is below n).
    let mut floor = 0u32;
    let mut idle_since = now();
    loop {
        // Servers may end IDLE after 30 minutes: renew it every 25.
        let renew =
            matches!(step, Some(Stage::Idle(_))).then(|| idle_since + Duration::from_secs(25 * 60));
        let event = match driver.step(renew).await? {
            Drive::Event(event) => event,
            Drive::Woken => {
                if let Some(Stage::Idle(tag)) = &step {
                    let tag = tag.clone();
                    driver.session().done(now())?;
                    step = Some(Stage::Done(tag));
                }
                continue;
            }
            Drive::Closed => return Ok(()),
        };
        let session = driver.session();
        match event {
            Event::Ready { .. } => {
                let list = CommandBody::List {
                    selection: Vec::new(),
                    reference: Mailbox::new(Str::new())?,
                    patterns: vec![Str::from("*")],
                    returns: Vec::new(),
                };
                step = Some(Stage::List(session.command(now(), list)?));
            }
            Event::Untagged(Untagged::List(item)) => println!("folder {}", item.mailbox.name()),
            Event::Untagged(Untagged::Exists(n)) => {
                if n > exists && matches!(step, Some(Stage::Idle(_))) {
                    arrived = true;
                }
                exists = n;
            }
            Event::Untagged(Untagged::Search { ids, .. }) => {
                last_uid = last_uid.max(ids.iter().map(|u| u.get()).max().unwrap_or(0));
                if let Some(set) = SequenceSet::from_numbers(ids.iter().map(|u| u.get())) {
                    step = Some(Stage::Fetch(fetch_envelopes(session, set)?));
                }
            }
            Event::Untagged(Untagged::Esearch { items, .. }) => {
                for item in items {
                    if let EsearchItem::All(set) = item {
                        step = Some(Stage::Fetch(fetch_envelopes(session, set)?));
                    }
                }
            }
            Event::Untagged(Untagged::Status(s)) => {
                if let Some(Code::UidNext(next)) = s.code {
                    last_uid = last_uid.max(next.get() - 1);
                }
            }
            Event::Untagged(Untagged::Fetch { items, .. }) => {
                let uid = items.iter().find_map(|i| match i {
                    FetchValue::Uid(u) => Some(u.get()),
                    _ => None,
                });
                if let Some(uid) = uid.filter(|&u| u > floor) {
                    last_uid = last_uid.max(uid);
                    print_envelope(&items);
                }
            }
            Event::Continue { .. } => {
                println!("idling");
                let _ = std::io::stdout().flush();
                idle_since = now();
                // An arrival announced before IDLE began: fetch it right away.
                if arrived && let Some(Stage::Idle(tag)) = &step {
                    let tag = tag.clone();
                    session.done(now())?;
                    step = Some(Stage::Done(tag));
                }
            }
            Event::Done { tag, status } => {
                if status.kind != StatusKind::Ok {
                    let text = String::from_utf8_lossy(status.text.as_bytes()).into_owned();
                    return Err(format!("server refused: {text}").into());
                }
                match step.take() {
                    Some(Stage::List(t)) if t == tag => {
                        let select = CommandBody::Select {
                            mailbox: mailbox.clone(),
                            params: SelectParams::default(),
                        };
                        step = Some(Stage::Select(session.command(now(), select)?));
                    }
                    Some(Stage::Select(t)) if t == tag => {
                        let search = CommandBody::Search {
                            uid: true,
                            returns: None,
                            charset: None,
                            keys: vec![SearchKey::Unseen],
                        };
                        step = Some(Stage::Search(session.command(now(), search)?));
                    }
                    Some(Stage::Search(t) | Stage::Fetch(t)) if t == tag => {
                        step = Some(if o.idle {
                            Stage::Idle(session.idle(now())?)
                        } else {
                            Stage::Logout(session.logout(now())?)
                        });
                    }
                    Some(Stage::Done(t)) if t == tag => {
                        if arrived {
                            arrived = false;
                            floor = last_uid;
                            let from = NonZeroU32::new(last_uid + 1).unwrap_or(NonZeroU32::MIN);
                            let set = SequenceSet::Ranges(vec![SeqRange {
                                start: SeqNo::Value(from),
                                end: SeqNo::Last,
                            }]);
                            step = Some(Stage::Fetch(fetch_envelopes(session, set)?));
                        } else {
                            step = Some(Stage::Idle(session.idle(now())?));
                        }
                    }
                    Some(Stage::Idle(t)) if t == tag => {
                        step = Some(Stage::Idle(session.idle(now())?))
                    }
                    other => step = other,
                }
            }
            Event::Failed(e) => return Err(e.to_string().into()),
            _ => {}
        }
        // A new message during IDLE: end IDLE to fetch it.
        if arrived && let Some(Stage::Idle(tag)) = &step {
            let tag = tag.clone();
            if session.done(now()).is_ok() {
                step = Some(Stage::Done(tag));
            }
        }
    }
}
