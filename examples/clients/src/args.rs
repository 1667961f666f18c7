//! A small command-line reader: `--flag value` pairs and positional arguments.

use std::fmt;

/// A command-line error: printed with the usage, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Arguments left to read, in order.
pub struct Args {
    items: std::collections::VecDeque<String>,
}

impl Args {
    /// The process arguments after the program name.
    pub fn from_env() -> Self {
        Args {
            items: std::env::args().skip(1).collect(),
        }
    }

    /// These arguments, as if given on the command line.
    pub fn from_vec(items: Vec<String>) -> Self {
        Args {
            items: items.into(),
        }
    }

    /// The next argument, if any.
    pub fn next_arg(&mut self) -> Option<String> {
        self.items.pop_front()
    }

    /// The value that must follow `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String, UsageError> {
        self.next_arg()
            .filter(|v| !v.starts_with("--") || v == "-")
            .ok_or_else(|| UsageError(format!("{flag} needs a value")))
    }

    /// The value after `flag`, parsed.
    pub fn parsed<T: std::str::FromStr>(&mut self, flag: &str) -> Result<T, UsageError> {
        let v = self.value(flag)?;
        v.parse()
            .map_err(|_| UsageError(format!("{flag}: cannot read {v:?}")))
    }
}

/// Prints `error` and `usage`, then exits with status 2.
pub fn exit_usage(error: &UsageError, usage: &str) -> ! {
    eprintln!("error: {error}\n\n{usage}");
    std::process::exit(2)
}

/// Prints `error` and exits with status 1.
pub fn exit_error(error: impl fmt::Display) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}

/// Logs to standard error, at `info` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
