//! mail-server: a complete mail server on the sansmail crates. Runs on
//! built-in defaults with no arguments; see `--help` and
//! `examples/mail-server.toml`.

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_server::control::{self, Request};
use sansmail_server::{config::Settings, server, users};

const USAGE: &str = "usage: mail-server [--config FILE] [overrides...]
       mail-server hash-password [PASSWORD]   (reads it from standard input when not given)
       mail-server dkim-keygen DOMAIN [--selector S] [--ed25519] [--data DIR | --store-url URL]
                                              (a DKIM key in DATA/dkim/DOMAIN/S.pem, signing
                                              DOMAIN's mail at the next start; prints its TXT record)
       mail-server dkim-record KEY.pem        (the TXT record that publishes a DKIM key)
       mail-server dane-record [--config FILE] [--data DIR] [--port N]
                                              (the TLSA record, 3 1 1, of the server's certificate)
       mail-server mta-sts-record [--config FILE] [--hostname NAME]
                                              (the DNS records that publish the [mta_sts] policy)
       mail-server check-config [FILE]        (reads FILE, its certificate and keys; says what is wrong)
       mail-server migrate [--config FILE] [--store-url URL]
                                              (makes or upgrades the PostgreSQL store's tables)
       mail-server token USER | token revoke USER [--config FILE] [--data DIR | --store-url URL]
                                              (a JMAP API token for USER, printed once; or
                                              remove all of USER's; kept as digests in DATA)

Admin commands, acting on the server running on the data directory (of
--config FILE or --data DIR) through its control socket DATA/control.sock:
       mail-server queue list                 (each message: id, age, sender, recipients with
                                              their last reply, next attempt)
       mail-server queue show ID              (its envelope and header)
       mail-server queue retry [ID]           (due now: one message, or every one not held)
       mail-server queue hold ID | release ID | delete ID
       mail-server user list | add NAME | passwd NAME | del NAME
                                              (add and passwd read the password from standard
                                              input; users are kept in DATA/users.json)
       mail-server reload                     (users, aliases, domains and the certificate,
                                              as SIGHUP does; sessions go on)
       mail-server cert renew                 (orders a new certificate from [tls.acme] now)

With no arguments it serves ./mail-data on unprivileged ports with a demo
user whose password is printed at first start.

  --config FILE          a TOML file; every key is shown in examples/mail-server.toml
  --data DIR             data directory (default ./mail-data)
  --store-url URL        keep mail, the queue, users and keys in PostgreSQL (postgres://...)
  --hostname NAME        the server's name (default localhost)
  --domain D             a local domain; repeatable (default localhost)
  --user NAME:PASSWORD   a user with a plain password; repeatable (for tests)
  --smtp ADDR            inbound SMTP (default 0.0.0.0:2525); \"off\" turns a listener off
  --submission ADDR      submission with STARTTLS (default 0.0.0.0:5587)
  --submissions ADDR     submission over TLS (default 0.0.0.0:4465)
  --imap ADDR            IMAP (default 0.0.0.0:1143)
  --imaps ADDR           IMAP over TLS (default 0.0.0.0:1993)
  --pop3 ADDR            POP3 (default 0.0.0.0:1110)
  --pop3s ADDR           POP3 over TLS (default 0.0.0.0:1995)
  --https ADDR           the web listener over TLS: MTA-STS policy (default 0.0.0.0:8443)
  --http ADDR            the web listener without TLS, behind a TLS proxy (default off)
  --metrics ADDR         Prometheus metrics at /metrics, plain HTTP (default off)
  --dns ADDR:PORT        the DNS server for relaying (default: /etc/resolv.conf)
  --remote-smtp-port N   the port of remote mail exchangers (default 25)
  --allow-plaintext      allow logins without TLS (tests, loopback-only setups)
  --tls-cert PEM --tls-key PEM   the certificate (default: self-signed, kept in DATA/tls)";

fn parse(words: Vec<String>) -> Result<Settings, UsageError> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    settings_again(&words).map_err(UsageError)
}

fn hash_password(given: Option<String>) {
    let password = given.unwrap_or_else(|| {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err()
            || line.trim_end_matches(['\r', '\n']).is_empty()
        {
            args::exit_error("no password given on standard input");
        }
        line.trim_end_matches(['\r', '\n']).to_owned()
    });
    println!("{}", users::hash_password(&password));
}

fn main() {
    let mut raw = std::env::args().skip(1);
    match raw.next().as_deref() {
        Some("hash-password") => return hash_password(raw.next()),
        Some("dkim-record") => return dkim_record(raw.next()),
        Some("dkim-keygen") => return dkim_keygen(raw.collect()),
        Some("dane-record") => return dane_record(raw.collect()),
        Some("mta-sts-record") => return mta_sts_record(raw.collect()),
        Some("check-config") => return check_config(raw.collect()),
        Some("token") => return token(raw.collect()),
        Some("migrate") => return migrate(raw.collect()),
        Some(kind @ ("queue" | "user" | "reload" | "cert")) => {
            return admin_command(kind, raw.collect());
        }
        _ => {}
    }
    let words: Vec<String> = std::env::args().skip(1).collect();
    let settings = parse(words.clone()).unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    args::init_logging();
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| args::exit_error(e));
    let reread: server_reread::Reread =
        Box::new(move || settings_again(&words).map_err(|e| e.to_string()));
    if let Err(e) = runtime.block_on(server::run(settings, Some(reread))) {
        args::exit_error(e);
    }
    // Sessions past the grace period are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
}

use sansmail_server::admin as server_reread;

/// The settings read again, as at start, for a reload: the configuration
/// file, then the same command-line flags.
fn settings_again(words: &[String]) -> Result<Settings, String> {
    let mut args = Args::from_vec(words.to_vec());
    let mut rest = Vec::new();
    let mut config_file = None;
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--config" => config_file = Some(args.value(&arg).map_err(|e| e.0)?),
            _ => rest.push(arg),
        }
    }
    let mut settings = match config_file {
        Some(file) => Settings::from_file(file.as_ref()).map_err(|e| e.to_string())?,
        None => Settings::default(),
    };
    let mut args = Args::from_vec(rest);
    while let Some(flag) = args.next_arg() {
        if !settings.take_flag(&flag, &mut args).map_err(|e| e.0)? {
            return Err(format!("unknown argument {flag:?}"));
        }
    }
    settings.check()?;
    Ok(settings)
}

/// Sends an admin command to the running server and prints its answer.
fn admin_command(kind: &str, words: Vec<String>) {
    let mut command = vec![kind.to_owned()];
    let settings = subcommand_settings(kind, words, |word, _| {
        if word.starts_with('-') {
            return Ok(false);
        }
        command.push(word.to_owned());
        Ok(true)
    });
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    let input = match words.as_slice() {
        ["user", "add" | "passwd", _] => Some(read_password()),
        _ => None,
    };
    let request = Request {
        args: command.clone(),
        input,
    };
    match control::send(&settings.data, &request) {
        Ok(response) if response.ok => {
            print!("{}", response.text);
            if !response.text.ends_with('\n') {
                println!();
            }
        }
        Ok(response) => args::exit_error(response.text),
        Err(e) => args::exit_error(e),
    }
}

/// One line of standard input, without its line end; exits when empty.
fn read_password() -> String {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err()
        || line.trim_end_matches(['\r', '\n']).is_empty()
    {
        args::exit_error("no password given on standard input");
    }
    line.trim_end_matches(['\r', '\n']).to_owned()
}

/// Issues or revokes a JMAP API token.
fn token(words: Vec<String>) {
    let mut positional = Vec::new();
    let settings = subcommand_settings("token", words, |word, _| {
        if word.starts_with('-') {
            return Ok(false);
        }
        positional.push(word.to_owned());
        Ok(true)
    });
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| args::exit_error(e));
    let done = runtime.block_on(async {
        let db = sansmail_server::shared::connect(&settings).await?;
        if let Some(db) = &db {
            sansmail_server::shared::check(db).await?;
        }
        let tokens = sansmail_server::tokens::Tokens::of(&settings.data, db.as_ref());
        match positional
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["revoke", user] => {
                let n = tokens.revoke(user).await?;
                Ok(format!("{n} token(s) of {user} revoked"))
            }
            [user] => {
                let managed = server_reread::ManagedUsers::of(&settings, db.as_ref());
                // Reading the users blocks: off the runtime's threads.
                let users = tokio::task::spawn_blocking(move || managed.read())
                    .await
                    .map_err(|e| e.to_string())??;
                let known =
                    settings.users.keys().any(|u| u.0 == *user) || users.contains_key(*user);
                if !known {
                    return Err(format!(
                        "no user {user} in the configuration or the managed users"
                    ));
                }
                let token = tokens.issue(user).await?;
                eprintln!("(printed only now; use it as `Authorization: Bearer TOKEN`)");
                Ok(token)
            }
            _ => args::exit_usage(
                &UsageError("token takes USER, or revoke USER".into()),
                USAGE,
            ),
        }
    });
    match done {
        Ok(said) => println!("{said}"),
        Err(e) => args::exit_error(e),
    }
}

/// Reads a configuration file (or the defaults) the way the server would
/// at start, and the files it names; prints a summary or what is wrong.
fn check_config(words: Vec<String>) {
    let (origin, settings) = match words.as_slice() {
        [] => ("the built-in defaults".to_owned(), Settings::default()),
        [file] => (
            file.clone(),
            Settings::from_file(file.as_ref()).unwrap_or_else(|e| args::exit_error(e)),
        ),
        _ => args::exit_usage(
            &UsageError("check-config takes at most one file".into()),
            USAGE,
        ),
    };
    let problem = |e: String| -> ! { args::exit_error(format!("{origin}: {e}")) };
    settings.check().unwrap_or_else(|e| problem(e));
    if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        let identity = sansmail_server::tls::load_identity(cert, key)
            .unwrap_or_else(|e| problem(e.to_string()));
        sansmail_server::tls::Certificates::new(identity)
            .unwrap_or_else(|e| problem(format!("tls_cert and tls_key: {e}")));
    }
    if let Some(acme) = &settings.tls.acme
        && let Some(ca) = &acme.ca
        && let Err(e) = std::fs::read(ca)
    {
        problem(format!("tls.acme.ca: {}: {e}", ca.display()));
    }
    let keys =
        sansmail_server::dkim_keys::load(&settings, Vec::new()).unwrap_or_else(|e| problem(e));
    let managed = server_reread::managed_users(&settings.data).unwrap_or_else(|e| problem(e));
    let l = &settings.listen;
    let listeners: Vec<String> = [
        ("smtp", l.smtp),
        ("submission", l.submission),
        ("submissions", l.submissions),
        ("imap", l.imap),
        ("imaps", l.imaps),
        ("pop3", l.pop3),
        ("pop3s", l.pop3s),
        ("https", l.https),
        ("http", l.http),
        ("metrics", l.metrics),
    ]
    .iter()
    .filter_map(|(name, a)| a.0.map(|a| format!("{name} {a}")))
    .collect();
    println!("{origin}: ok");
    println!(
        "  domains: {}",
        settings
            .domains
            .iter()
            .map(|d| d.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  users: {} in the file, {} in {}",
        settings.users.len(),
        managed.len(),
        settings.data.join(server_reread::USERS_FILE).display()
    );
    println!("  DKIM keys: {}", keys.signers.len());
    println!("  listening: {}", listeners.join(", "));
}

/// Prints the TXT record value that publishes the public half of a DKIM key.
fn dkim_record(path: Option<String>) {
    let Some(path) = path else {
        args::exit_usage(&UsageError("dkim-record needs a key file".into()), USAGE);
    };
    let pem =
        std::fs::read_to_string(&path).unwrap_or_else(|e| args::exit_error(format!("{path}: {e}")));
    match sansmail_auth::dkim::SigningKey::from_pem(&pem) {
        Ok(key) => println!("{}", key.public_key_record()),
        Err(e) => args::exit_error(format!("{path}: {e}")),
    }
}

/// Makes a DKIM key under the data directory and prints what to publish.
fn dkim_keygen(words: Vec<String>) {
    let (mut domain, mut selector, mut ed25519) = (None, "s1".to_owned(), false);
    let settings = subcommand_settings("dkim-keygen", words, |flag, args| {
        match flag {
            "--selector" => selector = args.value(flag)?,
            "--ed25519" => ed25519 = true,
            d if domain.is_none() && !d.starts_with('-') => domain = Some(d.to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let Some(domain) = domain else {
        args::exit_usage(&UsageError("dkim-keygen: a domain is needed".into()), USAGE)
    };
    let made = match settings.store.backend {
        sansmail_server::config::StoreBackend::Postgres => {
            let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| args::exit_error(e));
            runtime.block_on(async {
                let db = sansmail_server::shared::connect(&settings)
                    .await?
                    .ok_or("no database")?;
                sansmail_server::shared::check(&db).await?;
                let record =
                    sansmail_server::dkim_keys::generate_shared(&db, &domain, &selector, ed25519)
                        .await?;
                Ok::<_, String>((
                    "the database (every instance uses it from its next start)".to_owned(),
                    record,
                ))
            })
        }
        sansmail_server::config::StoreBackend::Maildir => {
            sansmail_server::dkim_keys::generate(&settings.data, &domain, &selector, ed25519)
                .map(|(path, record)| (path.display().to_string(), record))
        }
    };
    match made {
        Ok((place, record)) => {
            println!("key: {place}");
            println!("publish this TXT record at {selector}._domainkey.{domain}:");
            println!("{record}");
        }
        Err(e) => args::exit_error(e),
    }
}

/// The settings a subcommand works on: defaults, then `--config FILE`,
/// `--data DIR` and `--hostname NAME`; `other` takes the subcommand's own
/// flags (true when it knew the flag).
fn subcommand_settings(
    name: &str,
    words: Vec<String>,
    mut other: impl FnMut(&str, &mut Args) -> Result<bool, UsageError>,
) -> Settings {
    let usage = |why: &str| -> ! { args::exit_usage(&UsageError(format!("{name}: {why}")), USAGE) };
    let mut args = Args::from_vec(words);
    let mut settings = Settings::default();
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--config" => {
                let file = args.value(&arg).unwrap_or_else(|e| usage(&e.0));
                settings =
                    Settings::from_file(file.as_ref()).unwrap_or_else(|e| args::exit_error(e));
            }
            "--data" => settings.data = args.value(&arg).unwrap_or_else(|e| usage(&e.0)).into(),
            "--hostname" => settings.hostname = args.value(&arg).unwrap_or_else(|e| usage(&e.0)),
            "--store-url" => {
                settings.store.backend = sansmail_server::config::StoreBackend::Postgres;
                settings.store.url = Some(args.value(&arg).unwrap_or_else(|e| usage(&e.0)));
            }
            flag => match other(flag, &mut args) {
                Ok(true) => {}
                Ok(false) => usage(&format!("unknown argument {flag:?}")),
                Err(e) => usage(&e.0),
            },
        }
    }
    settings
}

/// Makes or upgrades the tables of the PostgreSQL store the settings name.
fn migrate(words: Vec<String>) {
    let settings = subcommand_settings("migrate", words, |_, _| Ok(false));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| args::exit_error(e));
    let done = runtime.block_on(async {
        let db = sansmail_server::shared::connect(&settings).await?.ok_or(
            "migrate: the store is not PostgreSQL (set [store] backend and url, or --store-url)",
        )?;
        sansmail_server::shared::migrate(&db).await
    });
    match done {
        Ok(said) => println!("{said}"),
        Err(e) => args::exit_error(e),
    }
}

/// Prints the TLSA record of the certificate the server uses (from its key).
fn dane_record(words: Vec<String>) {
    let mut port = 25;
    let settings = subcommand_settings("dane-record", words, |flag, args| match flag {
        "--port" => {
            port = args.parsed(flag)?;
            Ok(true)
        }
        _ => Ok(false),
    });
    let key = settings
        .tls_key
        .clone()
        .unwrap_or_else(|| settings.data.join("tls/key.pem"));
    let pem = std::fs::read_to_string(&key).unwrap_or_else(|e| {
        args::exit_error(format!(
            "{}: {e} (start the server once to make its certificate, or set tls_key)",
            key.display()
        ))
    });
    match sansmail_server::dane::tlsa_record(&pem, &settings.hostname, port) {
        Ok(record) => println!("{record}"),
        Err(e) => args::exit_error(format!("{}: {e}", key.display())),
    }
}

/// Prints, for each local domain, the TXT record that announces the
/// `[mta_sts]` policy (its id changes with the policy) and the name the
/// policy is fetched from.
fn mta_sts_record(words: Vec<String>) {
    let settings = subcommand_settings("mta-sts-record", words, |_, _| Ok(false));
    let policy = match settings.mta_sts_policy() {
        Ok(Some(policy)) => policy,
        Ok(None) => args::exit_error("[mta_sts] mode is off: there is no policy to publish"),
        Err(e) => args::exit_error(e),
    };
    let id = sansmail_server::web::policy_id(&policy.to_string());
    for domain in &settings.domains {
        let d = &domain.0;
        println!("_mta-sts.{d}. IN TXT \"v=STSv1; id={id}\"");
        println!("; and mta-sts.{d} must reach this server's web listener on port 443,");
        println!("; with a certificate valid for mta-sts.{d}");
    }
}
