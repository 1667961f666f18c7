//! pop3-fetch: downloads new messages from a POP3 server into a maildir.
//!
//! With `--keep-uidl-state FILE` each message is fetched only once across
//! runs: the unique ids already fetched are kept in FILE (one per line),
//! written after each message is safely in the maildir. With `--delete`
//! fetched messages are deleted on the server (at QUIT, as POP3 does).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_examples::stream::Connection;
use sansmail_examples::tls::Trust;
use sansmail_pop3::client::{Config, Event, RequestId, Session, TlsPolicy};
use sansmail_pop3::driver::{Driver, Step, Tls, now};
use sansmail_store::plain::Maildir;

const USAGE: &str =
    "usage: pop3-fetch --server HOST:PORT [--stls | --tls] --user NAME --password P --out DIR
                  [--delete] [--keep-uidl-state FILE] [--ca PEM | --insecure] [--apop]

  --server HOST:PORT      the POP3 server
  --stls                  upgrade with STLS (required to succeed)
  --tls                   TLS from the start (port 995 style)
                          (neither: plaintext, password sent in the clear)
  --user NAME             user name
  --password P            password
  --out DIR               maildir to deliver into (DIR/{tmp,new,cur})
  --delete                delete fetched messages on the server
  --keep-uidl-state FILE  fetch each message only once across runs
  --ca PEM                trust only these certificates (default: the Mozilla roots)
  --insecure              accept any certificate (testing only)
  --apop                  log in with APOP when the server offers it";

struct Options {
    server: String,
    tls: Option<&'static str>,
    user: String,
    password: String,
    out: PathBuf,
    delete: bool,
    state: Option<PathBuf>,
    trust: Trust,
    apop: bool,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let (mut server, mut user, mut password, mut out) = (None, None, None, None);
    let mut o = Options {
        server: String::new(),
        tls: None,
        user: String::new(),
        password: String::new(),
        out: PathBuf::new(),
        delete: false,
        state: None,
        trust: Trust::WebPki,
        apop: false,
    };
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--server" => server = Some(args.value(&arg)?),
            "--stls" | "--tls" if o.tls.is_some() => {
                return Err(UsageError("--stls and --tls exclude each other".into()));
            }
            "--stls" => o.tls = Some("stls"),
            "--tls" => o.tls = Some("tls"),
            "--user" => user = Some(args.value(&arg)?),
            "--password" => password = Some(args.value(&arg)?),
            "--out" => out = Some(PathBuf::from(args.value(&arg)?)),
            "--delete" => o.delete = true,
            "--keep-uidl-state" => o.state = Some(args.value(&arg)?.into()),
            "--ca" => o.trust = Trust::PemFile(args.value(&arg)?.into()),
            "--insecure" => o.trust = Trust::Insecure,
            "--apop" => o.apop = true,
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
    o.out = out.ok_or_else(|| missing("--out"))?;
    Ok(o)
}

#[tokio::main]
async fn main() {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    match fetch(&options).await {
        Ok(report) => println!("{report}"),
        Err(e) => args::exit_error(e),
    }
}

/// The unique ids already fetched, from the state file.
fn load_state(path: &Path) -> std::io::Result<HashSet<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(e),
    }
}

/// Writes the state file atomically (temporary file, sync, rename).
fn save_state(path: &Path, uids: &HashSet<String>) -> std::io::Result<()> {
    let mut sorted: Vec<&String> = uids.iter().collect();
    sorted.sort();
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    for uid in sorted {
        writeln!(file, "{uid}")?;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A message being written into the maildir.
struct Download {
    message: u32,
    uid: Option<String>,
    tmp: PathBuf,
    file: std::fs::File,
}

/// What the run is waiting for.
enum Stage {
    Listing(RequestId),
    Fetching,
}

async fn fetch(o: &Options) -> Result<String, Box<dyn std::error::Error>> {
    let maildir = Maildir::open(&o.out)?;
    let mut seen = match &o.state {
        Some(path) => load_state(path)?,
        None => HashSet::new(),
    };
    let conn = Connection::open(&o.server, &o.trust, o.tls == Some("tls")).await?;
    let mut config = Config::password(&o.user, &o.password);
    config.apop = o.apop;
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
    let hostname = "pop3-fetch";
    let session = Session::new(config, now());
    let tls = Tls::Client(conn.connector.clone(), conn.server_name.clone());
    let mut driver = Driver::with_stream(session, conn.stream, tls);
    let mut stage: Option<Stage> = None;
    let mut uids: HashMap<u32, String> = HashMap::new();
    let mut requests: HashMap<RequestId, u32> = HashMap::new();
    let mut download: Option<Download> = None;
    let mut on_server: HashSet<String> = HashSet::new();
    let (mut fetched, mut deleted) = (0usize, 0usize);
    let mut quitting = false;
    while let Step::Event(event) = driver.step(None).await? {
        let session = driver.session();
        match event {
            Event::Ready { .. } => stage = Some(Stage::Listing(session.uidl(now(), None)?)),
            Event::UniqueId { message, uid, .. } => {
                on_server.insert(uid.to_string());
                uids.insert(message, uid.to_string());
            }
            Event::Done { id, .. } | Event::Refused { id, .. } if matches!(stage, Some(Stage::Listing(l)) if l == id) =>
            {
                // Without UIDL (a refused listing) every message is new.
                let count = if uids.is_empty() {
                    let stat = session.stat(now())?;
                    requests.insert(stat, 0);
                    None
                } else {
                    Some(())
                };
                stage = Some(Stage::Fetching);
                if count.is_some() {
                    let mut numbers: Vec<u32> = uids
                        .iter()
                        .filter(|(_, uid)| !seen.contains(*uid))
                        .map(|(n, _)| *n)
                        .collect();
                    numbers.sort_unstable();
                    for n in numbers {
                        requests.insert(session.retr(now(), n)?, n);
                    }
                }
            }
            Event::Stat { messages, .. } => {
                for n in 1..=messages {
                    requests.insert(session.retr(now(), n)?, n);
                }
            }
            Event::BodyChunk { id, chunk } => {
                if download.is_none() {
                    let message = requests.get(&id).copied().unwrap_or_default();
                    let (tmp, file) = maildir.create_tmp(hostname)?;
                    download = Some(Download {
                        message,
                        uid: uids.get(&message).cloned(),
                        tmp,
                        file,
                    });
                }
                if let Some(d) = &mut download {
                    d.file.write_all(&chunk)?;
                }
            }
            Event::Done { id, .. } if requests.get(&id).is_some_and(|n| *n > 0) => {
                let message = requests[&id];
                let d = match download.take() {
                    Some(d) => d,
                    None => {
                        // An empty message: no chunk came.
                        let (tmp, file) = maildir.create_tmp(hostname)?;
                        Download {
                            message,
                            uid: uids.get(&message).cloned(),
                            tmp,
                            file,
                        }
                    }
                };
                d.file.sync_all()?;
                maildir.commit(&d.tmp)?;
                fetched += 1;
                if let Some(uid) = &d.uid {
                    seen.insert(uid.clone());
                    if let Some(path) = &o.state {
                        save_state(path, &seen)?;
                    }
                }
                if o.delete {
                    requests.insert(session.dele(now(), d.message)?, 0);
                    deleted += 1;
                    if let Some(uid) = d.uid {
                        on_server.remove(&uid);
                    }
                }
                requests.remove(&id);
            }
            Event::Refused { id, response } => {
                if let Some(d) = download.take() {
                    let _ = std::fs::remove_file(&d.tmp);
                }
                let n = requests.remove(&id).unwrap_or_default();
                eprintln!("warning: message {n}: {response}");
            }
            Event::Done { id, .. } => {
                requests.remove(&id);
            }
            Event::Failed(error) => {
                if let Some(d) = download.take() {
                    let _ = std::fs::remove_file(&d.tmp);
                }
                return Err(error.into());
            }
            _ => {}
        }
        let all_answered = requests.is_empty() && download.is_none();
        if !quitting && matches!(stage, Some(Stage::Fetching)) && all_answered {
            quitting = true;
            session.quit(now())?;
        }
    }
    if let Some(path) = &o.state {
        // Forget ids the server no longer has (deleted here or elsewhere),
        // so the file does not grow without bound.
        if !uids.is_empty() {
            seen.retain(|uid| on_server.contains(uid));
            save_state(path, &seen)?;
        }
    }
    Ok(format!(
        "fetched {fetched} new message(s) into {}, deleted {deleted} on the server",
        o.out.display()
    ))
}
