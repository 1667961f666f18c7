//! Helpers for tests against real peers over loopback: free ports, child
//! processes that stop with the test, a private Postfix instance.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sansmail-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed when the test ends.
pub struct Daemon {
    child: Child,
    pub name: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on port {port}");
}

/// A running smtp-sink.
pub struct Sink {
    pub port: u16,
    pub dir: TempDir,
    _daemon: Daemon,
}

impl Sink {
    /// Starts smtp-sink on a free port with `args` added.
    pub fn start(args: &[&str]) -> Self {
        let port = free_port();
        let dir = TempDir::new("sink");
        let child = Command::new(env!("CARGO_BIN_EXE_smtp-sink"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--maildir"])
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start smtp-sink");
        let daemon = Daemon {
            child,
            name: "smtp-sink".into(),
        };
        wait_for_port(port, "smtp-sink");
        Sink {
            port,
            dir,
            _daemon: daemon,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("smtp-sink-cert.pem")
    }

    /// The messages delivered to `owner`, as text, waiting up to `wait` for `count` of them.
    pub fn messages(&self, owner: &str, count: usize, wait: Duration) -> Vec<String> {
        let new = self.dir.path().join(owner).join("Maildir/new");
        let deadline = Instant::now() + wait;
        loop {
            let mut found: Vec<String> = std::fs::read_dir(&new)
                .map(|rd| {
                    rd.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if found.len() >= count || Instant::now() >= deadline {
                found.sort();
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Finds a program or fails with the way to get it.
pub fn require(program: &str) -> String {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
        || Path::new(program).is_file();
    assert!(
        found,
        "{program} is not installed: run scripts/test.sh, which installs the real peers"
    );
    program.to_owned()
}

/// Runs a command to completion with a time limit; stdin is `input`.
pub fn run(cmd: &mut Command, input: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} timed out\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a Python script (given on stdin) with `env`; asserts it succeeded and returns its stdout.
pub fn python(script: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(require("python3"));
    cmd.arg("-");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, script.as_bytes(), Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A private Postfix instance listening on 127.0.0.1, stopped on drop.
pub struct Postfix {
    pub port: u16,
    pub dir: TempDir,
}

impl Postfix {
    /// Starts Postfix with `extra` lines appended to main.cf.
    pub fn start(extra: &str) -> Self {
        require("/usr/sbin/postfix");
        let port = free_port();
        let dir = TempDir::new("postfix");
        let d = dir.path();
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let master =
            std::fs::read_to_string("/etc/postfix/master.cf").expect("/etc/postfix/master.cf");
        let master: String = master
            .lines()
            .map(|l| {
                if l.starts_with("smtp      inet") {
                    l.replacen("smtp     ", &format!("127.0.0.1:{port}"), 1)
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(d.join("etc/master.cf"), master + "\n").unwrap();
        let main = format!(
            "compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtputf8_enable = yes
maillog_file = {log}
maillog_file_prefixes = {root}
alias_maps =
alias_database =
local_recipient_maps =
smtp_connect_timeout = 5s
{extra}
",
            q = d.join("queue").display(),
            data = d.join("data").display(),
            log = d.join("maillog").display(),
            root = d.display(),
        );
        std::fs::write(d.join("etc/main.cf"), main).unwrap();
        let etc = d.join("etc");
        let status = Command::new("postconf")
            .arg("-c")
            .arg(&etc)
            .args(["-F", "*/*/chroot = n"])
            .status()
            .unwrap();
        assert!(status.success(), "postconf failed");
        let status = Command::new("chown")
            .arg("postfix")
            .arg(d.join("data"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "chown postfix failed (the Postfix tests run as root)"
        );
        let out = run(
            Command::new("postfix").arg("-c").arg(&etc).arg("start"),
            b"",
            Duration::from_secs(60),
        );
        let pf = Postfix { port, dir };
        if !out.status.success() {
            panic!(
                "postfix start failed: {}\nlog: {}",
                String::from_utf8_lossy(&out.stderr),
                pf.log()
            );
        }
        wait_for_port(port, "postfix");
        pf
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = run(
            Command::new("postfix")
                .arg("-c")
                .arg(self.dir.path().join("etc"))
                .arg("stop"),
            b"",
            Duration::from_secs(60),
        );
    }
}

/// Exim, unpacked by scripts/test.sh into /opt/sansmail-peers, sending one
/// message to `port` on 127.0.0.1.
/// Returns Exim's main log.
pub fn exim_send(port: u16, from: &str, to: &str, message: &[u8]) -> String {
    let exim = require("/opt/sansmail-peers/exim/usr/sbin/exim4");
    let dir = TempDir::new("exim");
    let d = dir.path();
    for sub in ["spool", "log"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        let ok = Command::new("chown")
            .arg("Debian-exim:Debian-exim")
            .arg(d.join(sub))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "chown Debian-exim failed (scripts/test.sh creates the user)"
        );
    }
    let config = format!(
        "exim_user = Debian-exim
exim_group = Debian-exim
exim_path = {exim}
spool_directory = {spool}
log_file_path = {log}/%slog
primary_hostname = exim.test
qualify_domain = example.com
keep_environment =
begin routers
to_sink:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = sink_smtp
begin transports
sink_smtp:
  driver = smtp
  port = {port}
  allow_localhost = true
  hosts_try_chunking = *
begin retry
* * F,1m,1m
",
        spool = d.join("spool").display(),
        log = d.join("log").display(),
    );
    std::fs::write(d.join("exim.conf"), config).unwrap();
    let out = run(
        Command::new(&exim)
            .arg("-C")
            .arg(d.join("exim.conf"))
            .args(["-odf", "-oi", "-f", from, to]),
        message,
        Duration::from_secs(60),
    );
    let log = std::fs::read_to_string(d.join("log/mainlog")).unwrap_or_default();
    assert!(
        out.status.success(),
        "exim failed: {}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    log
}
