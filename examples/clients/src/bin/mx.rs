//! mx: prints the delivery plan of each domain (RFC 5321 §5.1), one block per
//! domain, and exits non-zero when any lookup failed.

use std::net::SocketAddr;
use std::process::ExitCode;

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_mx::Config;
use sansmail_mx::blocking::{ResolveError, random_seed, resolve, system_nameservers};

const USAGE: &str = "usage: mx DOMAIN... [--dns ADDR:PORT]... [--seed N] [--ipv4-first]

  --dns ADDR:PORT   a recursive name server (default: those of /etc/resolv.conf)
  --seed N          tie-break seed for equal preferences (default: random)
  --ipv4-first      list IPv4 addresses before IPv6";

struct Options {
    domains: Vec<String>,
    servers: Vec<SocketAddr>,
    seed: Option<u64>,
    ipv4_first: bool,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let mut o = Options {
        domains: Vec::new(),
        servers: Vec::new(),
        seed: None,
        ipv4_first: false,
    };
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--dns" => o.servers.push(args.parsed(&arg)?),
            "--seed" => o.seed = Some(args.parsed(&arg)?),
            "--ipv4-first" => o.ipv4_first = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => {
                return Err(UsageError(format!("unknown argument {flag:?}")));
            }
            _ => o.domains.push(arg),
        }
    }
    if o.domains.is_empty() {
        return Err(UsageError("give at least one domain".into()));
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    let servers = if options.servers.is_empty() {
        system_nameservers().unwrap_or_else(|e| args::exit_error(format!("/etc/resolv.conf: {e}")))
    } else {
        options.servers.clone()
    };
    let mut config = Config::new(servers, options.seed.unwrap_or_else(random_seed));
    if options.ipv4_first {
        config.family_order = sansmail_mx::FamilyOrder::Ipv4First;
    }
    let mut failed = false;
    for domain in &options.domains {
        match resolve(domain, config.clone()) {
            Ok(plan) => println!("{plan}"),
            Err(error) => {
                failed = true;
                let kind = match &error {
                    ResolveError::Lookup(e) if e.is_permanent() => {
                        let (code, (c, s, d), text) = e.smtp_reply();
                        format!("permanent, {code} {c}.{s}.{d} {text}")
                    }
                    ResolveError::Lookup(_) | ResolveError::Io(_) => "temporary".to_owned(),
                    _ => "invalid".to_owned(),
                };
                println!("{domain}\n  error: {error} ({kind})");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
