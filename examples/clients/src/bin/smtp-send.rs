//! smtp-send: submits one message and prints what became of each recipient.
//! Exits 0 when every recipient was delivered, 1 otherwise, 2 on bad arguments.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_examples::stream::Connection;
use sansmail_examples::tls::Trust;
use sansmail_smtp::Mode;
use sansmail_smtp::client::{
    self, ClientCredentials, DeliveryStatus, Envelope, Event, Session, TlsPolicy,
};
use sansmail_smtp::driver::{Driver, Step, Tls};
use sansmail_smtp::types::{ForwardPath, Host, Mailbox, ReversePath, Secret};
use tokio::io::AsyncReadExt;

const USAGE: &str =
    "usage: smtp-send --server HOST:PORT [--starttls | --tls] [--user NAME --password P]
                 --from ADDR --to ADDR... [--helo NAME] [--lmtp] [--ca PEM | --insecure] [FILE | -]

  --server HOST:PORT  the server to submit to
  --starttls          require STARTTLS (RFC 3207)
  --tls               implicit TLS from the first byte (port 465)
  --user, --password  authenticate (needs TLS)
  --from ADDR         the envelope sender; <> for the null sender
  --to ADDR           a recipient; repeatable
  --helo NAME         the name to greet with (default localhost)
  --lmtp              speak LMTP
  --ca PEM            trust only this certificate (default: the Mozilla roots)
  --insecure          accept any certificate (testing only)
  FILE | -            the message (default: standard input)";

struct Options {
    server: String,
    tls: TlsPolicy,
    implicit_tls: bool,
    user: Option<String>,
    password: Option<String>,
    from: ReversePath,
    to: Vec<ForwardPath>,
    helo: Host,
    lmtp: bool,
    trust: Trust,
    file: Option<PathBuf>,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let mut server = None;
    let mut o = Options {
        server: String::new(),
        tls: TlsPolicy::Disabled,
        implicit_tls: false,
        user: None,
        password: None,
        from: ReversePath::Null,
        to: Vec::new(),
        helo: Host::parse("localhost").expect("valid"),
        lmtp: false,
        trust: Trust::WebPki,
        file: None,
    };
    let mut from = None;
    let mailbox = |flag: &str, v: &str| {
        Mailbox::parse(v.trim_start_matches('<').trim_end_matches('>'))
            .map_err(|_| UsageError(format!("{flag}: {v:?} is not a mailbox address")))
    };
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--server" => server = Some(args.value(&arg)?),
            "--starttls" => o.tls = TlsPolicy::Required,
            "--tls" => o.implicit_tls = true,
            "--user" => o.user = Some(args.value(&arg)?),
            "--password" => o.password = Some(args.value(&arg)?),
            "--from" => {
                let v = args.value(&arg)?;
                from = Some(if v == "<>" || v.is_empty() {
                    ReversePath::Null
                } else {
                    ReversePath::Mailbox(mailbox(&arg, &v)?)
                });
            }
            "--to" => {
                let v = args.value(&arg)?;
                o.to.push(ForwardPath::Mailbox(mailbox(&arg, &v)?));
            }
            "--helo" => {
                let v = args.value(&arg)?;
                o.helo = Host::parse(&v)
                    .map_err(|_| UsageError(format!("--helo: {v:?} is not a host name")))?;
            }
            "--lmtp" => o.lmtp = true,
            "--ca" => o.trust = Trust::PemFile(args.value(&arg)?.into()),
            "--insecure" => o.trust = Trust::Insecure,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-" => o.file = None,
            other if other.starts_with("--") => {
                return Err(UsageError(format!("unknown argument {other:?}")));
            }
            other => o.file = Some(other.into()),
        }
    }
    o.server = server.ok_or_else(|| UsageError("--server is required".into()))?;
    o.from = from.ok_or_else(|| UsageError("--from is required".into()))?;
    if o.to.is_empty() {
        return Err(UsageError("at least one --to is required".into()));
    }
    if o.user.is_some() != o.password.is_some() {
        return Err(UsageError("--user and --password go together".into()));
    }
    if o.tls == TlsPolicy::Required && o.implicit_tls {
        return Err(UsageError("--starttls and --tls exclude each other".into()));
    }
    Ok(o)
}

#[tokio::main]
async fn main() {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    let message = match &options.file {
        Some(path) => std::fs::read(path)
            .unwrap_or_else(|e| args::exit_error(format!("{}: {e}", path.display()))),
        None => {
            let mut m = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut m)
                .await
                .unwrap_or_else(|e| args::exit_error(e));
            m
        }
    };
    match send(&options, &message).await {
        Ok(all_delivered) => std::process::exit(if all_delivered { 0 } else { 1 }),
        Err(e) => args::exit_error(e),
    }
}

/// Runs one session on the SMTP client driver; true when every recipient was delivered.
async fn send(options: &Options, message: &[u8]) -> Result<bool, Box<dyn std::error::Error>> {
    let connect = Connection::open(&options.server, &options.trust, options.implicit_tls);
    let conn = tokio::time::timeout(Duration::from_secs(30), connect)
        .await
        .map_err(|_| format!("{}: connection timed out", options.server))??;
    let mut config = client::Config::new(options.helo.clone());
    config.tls = options.tls;
    config.implicit_tls = options.implicit_tls;
    config.mode = if options.lmtp { Mode::Lmtp } else { Mode::Smtp };
    if let (Some(user), Some(password)) = (&options.user, &options.password) {
        config.credentials = Some(ClientCredentials::Password {
            username: user.clone(),
            password: Secret::new(password.clone()),
        });
    }
    let session = Session::new(config, Instant::now());
    let tls = Tls::Client(conn.connector.clone(), conn.server_name.clone());
    let mut driver = Driver::with_stream(session, conn.stream, tls);
    let mut envelope = Some(
        Envelope::new(options.from.clone(), options.to.clone()).with_size(message.len() as u64),
    );
    let mut all_delivered = false;
    let mut failure = None;
    while let Step::Event(event) = driver.step(None).await? {
        match event {
            Event::Ready => match envelope.take() {
                Some(e) => driver.session().send_mail(Instant::now(), e)?,
                None => driver.session().quit(Instant::now()),
            },
            Event::SendBody => {
                // Stream the body in pieces, each transmitted before the next.
                for piece in message.chunks(64 * 1024) {
                    driver.session().write_body(Instant::now(), piece)?;
                    driver.flush().await?;
                }
                driver.session().finish_body(Instant::now())?;
            }
            Event::TransactionComplete(outcomes) => {
                all_delivered = outcomes.iter().all(|o| o.status.is_delivered());
                for o in outcomes {
                    let (what, reply) = match &o.status {
                        DeliveryStatus::Delivered(r) => ("delivered", r),
                        DeliveryStatus::TemporaryFailure(r) => ("temporary failure", r),
                        DeliveryStatus::PermanentFailure(r) => ("permanent failure", r),
                    };
                    println!("{}: {what}: {reply}", o.recipient);
                }
                driver.session().quit(Instant::now());
            }
            Event::Failed(e) => failure = Some(e),
            _ => {}
        }
    }
    if let Some(e) = failure {
        eprintln!("error: {e}");
        if envelope.is_some() {
            // Failed before the message was even offered: every recipient failed.
            for to in &options.to {
                println!("{to}: not sent: {e}");
            }
        }
        return Ok(false);
    }
    Ok(all_delivered)
}
