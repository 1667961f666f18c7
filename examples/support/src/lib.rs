//! Helpers for the examples' tests against real peers over loopback: the
//! workspace's binaries, free ports, child processes that stop with the
//! test, and private Postfix, Dovecot and NSD instances.
#![allow(missing_docs)]

mod mail_server;
mod postgres;
pub use postgres::Postgres;
pub mod secure;
pub use mail_server::*;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One of the workspace's programs (`mail-server`, `imap-fetch`...), as
/// `cargo test --workspace` builds them beside the test binaries.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run the tests with `cargo test --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// A port on 127.0.0.1 that was free a moment ago, and not given before
/// by this process (tests run in parallel threads).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
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
    pub child: Child,
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
    wait_for_addr(&format!("127.0.0.1:{port}"), what)
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for_addr(addr: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on {addr}");
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
        Self::start_on(free_port(), args)
    }

    /// Starts smtp-sink on `port` (to restart one where it was).
    pub fn start_on(port: u16, args: &[&str]) -> Self {
        Self::start_at(&format!("127.0.0.1:{port}"), args)
    }

    /// Starts smtp-sink on `addr` (any loopback address).
    pub fn start_at(addr: &str, args: &[&str]) -> Self {
        let dir = TempDir::new("sink");
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        let child = Command::new(bin("smtp-sink"))
            .args(["--listen", addr, "--maildir"])
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
        wait_for_addr(addr, "smtp-sink");
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
    /// The implicit-TLS submission port (465 style), when started with one.
    pub smtps_port: Option<u16>,
    pub dir: TempDir,
}

impl Postfix {
    /// Starts Postfix with `extra` lines appended to main.cf.
    pub fn start(extra: &str) -> Self {
        Self::start_with(extra, false)
    }

    /// Starts Postfix, with `smtps` also an implicit-TLS listener (its
    /// certificate from `extra`).
    pub fn start_with(extra: &str, smtps: bool) -> Self {
        require("/usr/sbin/postfix");
        let port = free_port();
        let smtps_port = smtps.then(free_port);
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
        let wrapper = match smtps_port {
            Some(p) => format!(
                "127.0.0.1:{p} inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_sasl_auth_enable=yes\n"
            ),
            None => String::new(),
        };
        std::fs::write(d.join("etc/master.cf"), master + "\n" + &wrapper).unwrap();
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
        let pf = Postfix {
            port,
            smtps_port,
            dir,
        };
        if !out.status.success() {
            panic!(
                "postfix start failed: {}\nlog: {}",
                String::from_utf8_lossy(&out.stderr),
                pf.log()
            );
        }
        wait_for_port(port, "postfix");
        if let Some(p) = smtps_port {
            wait_for_port(p, "postfix (smtps)");
        }
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

/// Starts one of our server binaries on a free port over `root` with `args` added.
fn start_server(program: &Path, name: &str, root: &Path, args: &[&str]) -> (u16, Daemon) {
    start_server_on(free_port(), program, name, root, args)
}

/// Starts one of our server binaries on `port`.
fn start_server_on(
    port: u16,
    program: &Path,
    name: &str,
    root: &Path,
    args: &[&str],
) -> (u16, Daemon) {
    let child = Command::new(program)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--maildir"])
        .arg(root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let daemon = Daemon {
        child,
        name: name.into(),
    };
    wait_for_port(port, name);
    (port, daemon)
}

/// A running pop3-server serving the maildirs under `root`.
pub struct Pop3Server {
    pub port: u16,
    _daemon: Daemon,
}

impl Pop3Server {
    /// Starts pop3-server on a free port over `root` with `args` added.
    pub fn start(root: &Path, args: &[&str]) -> Self {
        let (port, daemon) = start_server(&bin("pop3-server"), "pop3-server", root, args);
        Pop3Server {
            port,
            _daemon: daemon,
        }
    }
}

/// A running imap-server serving the maildirs under `root`.
pub struct ImapServer {
    pub port: u16,
    _daemon: Daemon,
}

impl ImapServer {
    /// Starts imap-server on a free port over `root` with `args` added.
    pub fn start(root: &Path, args: &[&str]) -> Self {
        Self::start_on(free_port(), root, args)
    }

    /// Starts imap-server on `port` (to restart one where it was).
    pub fn start_on(port: u16, root: &Path, args: &[&str]) -> Self {
        let program = bin("imap-server");
        let (port, daemon) = start_server_on(port, &program, "imap-server", root, args);
        ImapServer {
            port,
            _daemon: daemon,
        }
    }
}

/// Writes `messages` into `root/<user>/Maildir/new`, oldest first.
pub fn fill_maildir(root: &Path, user: &str, messages: &[&str]) {
    let new = root.join(user).join("Maildir/new");
    std::fs::create_dir_all(&new).unwrap();
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for (i, m) in messages.iter().enumerate() {
        // Names never repeat: a second call must not replace a file of the first.
        let q = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = new.join(format!("{}.M{i}P1Q{q}.test", 1_700_000_000 + i));
        std::fs::write(&path, m).unwrap();
        // Distinct modification times keep the order.
        let time = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
}

/// The files of a maildir's `new/` and `cur/`, read as text, sorted.
pub fn maildir_messages(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            for e in rd.flatten() {
                found.push(String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned());
            }
        }
    }
    found.sort();
    found
}

/// A private Dovecot instance serving POP3 (STLS) or IMAP (STARTTLS) on
/// 127.0.0.1 for one user, stopped on drop.
pub struct Dovecot {
    pub port: u16,
    /// Each protocol's port, in the order started.
    pub ports: Vec<(String, u16)>,
    pub dir: TempDir,
    _daemon: Daemon,
}

impl Dovecot {
    /// Starts Dovecot's POP3 with `user`:`password` and `messages` in the user's maildir.
    pub fn start(user: &str, password: &str, messages: &[&str]) -> Self {
        Self::serve(&["pop3"], user, password, messages, "")
    }

    /// Starts Dovecot's IMAP with `user`:`password` and `messages` in the user's maildir.
    pub fn start_imap(user: &str, password: &str, messages: &[&str]) -> Self {
        Self::serve(&["imap"], user, password, messages, "")
    }

    /// Starts IMAP, POP3 and LMTP (LMTP takes `user@any.domain`), with an
    /// Archive folder, and a SASL socket for Postfix ([`Dovecot::auth_socket`]).
    pub fn start_mail_store(user: &str, password: &str) -> Self {
        let extra = "auth_username_format = %Ln\n\
             service auth {\n  unix_listener {DIR}/auth-postfix {\n    mode = 0666\n  }\n}\n\
             namespace inbox {\n  inbox = yes\n  mailbox Archive {\n    auto = create\n    special_use = \\Archive\n  }\n}\n";
        Self::serve(&["imap", "pop3", "lmtp"], user, password, &[], extra)
    }

    /// Starts Dovecot's IMAP for `user` over the maildir at `maildir` (made
    /// the mail user's when the tests run as root; its parents must let
    /// that user through).
    pub fn start_imap_at(user: &str, password: &str, maildir: &Path) -> Self {
        if running_as_root() {
            chown_nobody(maildir);
        }
        let extra = format!("mail_location = maildir:{}\n", maildir.display());
        Self::serve(&["imap"], user, password, &[], &extra)
    }

    /// Where Postfix asks Dovecot to check SMTP AUTH credentials.
    pub fn auth_socket(&self) -> PathBuf {
        self.dir.path().join("auth-postfix")
    }

    /// The certificate and key files it serves.
    pub fn cert_files(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("cert.pem"),
            self.dir.path().join("key.pem"),
        )
    }

    /// The port of `protocol`.
    pub fn port_of(&self, protocol: &str) -> u16 {
        self.ports
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, port)| *port)
            .unwrap_or_else(|| panic!("dovecot serves no {protocol}"))
    }

    /// The self-signed certificate (for localhost) it serves, in PEM.
    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("cert.pem")).unwrap()
    }

    fn serve(
        protocols: &[&str],
        user: &str,
        password: &str,
        messages: &[&str],
        extra: &str,
    ) -> Self {
        let dovecot = require("/usr/sbin/dovecot");
        let dir = TempDir::new("dovecot");
        let d = dir.path().to_owned();
        let ports: Vec<(String, u16)> = protocols
            .iter()
            .map(|p| (p.to_string(), free_port()))
            .collect();
        for sub in ["run", "state"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(d.join("cert.pem"), certified.cert.pem()).unwrap();
        std::fs::write(d.join("key.pem"), certified.key_pair.serialize_pem()).unwrap();
        std::fs::write(d.join("passwd"), format!("{user}:{{PLAIN}}{password}\n")).unwrap();
        fill_maildir(&d.join("home"), user, messages);
        // Mail is owned by an unprivileged user; as root that is nobody,
        // otherwise the user running the tests (who then runs every process).
        let (uid, gid, users) = if running_as_root() {
            chown_nobody(&d.join("home"));
            (65534, 65534, String::new())
        } else {
            let name = std::env::var("USER").unwrap_or_default();
            let (uid, gid) = ids();
            (
                uid,
                gid,
                format!("default_internal_user = {name}\ndefault_login_user = {name}\n"),
            )
        };
        let mut perms = std::fs::metadata(&d).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&d, perms).unwrap();
        let p = d.display();
        let mut listeners = String::new();
        for (protocol, port) in &ports {
            listeners += &match protocol.as_str() {
                "lmtp" => format!(
                    "service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n"
                ),
                _ => format!(
                    "service {protocol}-login {{\n  inet_listener {protocol} {{\n    port = {port}\n  }}\n  inet_listener {protocol}s {{\n    port = 0\n  }}\n}}\n"
                ),
            };
        }
        let protocols = protocols.join(" ");
        let config = format!(
            "base_dir = {p}/run\nstate_dir = {p}/state\nlog_path = {p}/dovecot.log\n\
             protocols = {protocols}\nlisten = 127.0.0.1\nssl = required\n\
             ssl_cert = <{p}/cert.pem\nssl_key = <{p}/key.pem\n\
             disable_plaintext_auth = yes\nauth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {p}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={p}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n{users}{listeners}\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n\
             pop3_uidl_format = %08Xu%08Xv\n{extra}",
            extra = extra.replace("{DIR}", &p.to_string())
        );
        std::fs::write(d.join("dovecot.conf"), config).unwrap();
        let child = Command::new(dovecot)
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .arg("-F")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let daemon = Daemon {
            child,
            name: "dovecot".into(),
        };
        for (_, port) in &ports {
            wait_for_port(*port, "dovecot");
        }
        Dovecot {
            port: ports[0].1,
            ports,
            dir,
            _daemon: daemon,
        }
    }

    /// The user's maildir.
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.dir.path().join("home").join(user).join("Maildir")
    }
}

/// The uid and gid running the tests, from `id`.
fn ids() -> (u32, u32) {
    let get = |flag: &str| {
        let out = Command::new("id").arg(flag).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (get("-u"), get("-g"))
}

/// True when the tests run as root (as CI does).
pub fn running_as_root() -> bool {
    ids().0 == 0
}

/// Gives `path` and everything under it to nobody (uid and gid 65534).
pub fn chown_nobody(path: &Path) {
    let out = run(
        Command::new("chown").args(["-R", "65534:65534"]).arg(path),
        b"",
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "chown failed");
}

/// A new private key in PKCS#8 PEM from `openssl genpkey` with `args`
/// (`["-algorithm", "ed25519"]`, say).
pub fn openssl_key(args: &[&str]) -> String {
    let out = run(
        Command::new(require("openssl")).arg("genpkey").args(args),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "openssl genpkey: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new RSA-2048 private key in PKCS#8 PEM.
pub fn rsa_pem() -> String {
    openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
}

/// A TXT record's text as zone-file character-strings of at most 200 octets.
pub fn zone_txt(text: &str) -> String {
    text.as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A private NSD (authoritative DNS server) on 127.0.0.1 serving `zone` for `origin`, stopped on drop.
pub struct Nsd {
    pub port: u16,
    pub dir: TempDir,
    _daemon: Daemon,
}

impl Nsd {
    /// Starts NSD on a free port (UDP and TCP) with one zone.
    pub fn start(origin: &str, zone: &str) -> Self {
        let nsd = require("/usr/sbin/nsd");
        let dir = TempDir::new("nsd");
        let d = dir.path().display().to_string();
        // NSD binds UDP and TCP on the same number: find one free for both.
        let port = loop {
            let port = free_port();
            if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        std::fs::write(dir.path().join("zone"), zone).unwrap();
        let config = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n\
             \x20 zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n\
             \x20 xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n\
             \x20 logfile: \"{d}/nsd.log\"\n  server-count: 1\n  verbosity: 1\n\
             remote-control:\n  control-enable: no\n\
             zone:\n  name: \"{origin}\"\n  zonefile: \"{d}/zone\"\n"
        );
        let conf = dir.path().join("nsd.conf");
        std::fs::write(&conf, config).unwrap();
        let check = run(
            Command::new(require("/usr/sbin/nsd-checkconf")).arg(&conf),
            b"",
            Duration::from_secs(20),
        );
        assert!(
            check.status.success(),
            "nsd.conf: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(nsd)
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nsd");
        let daemon = Daemon {
            child,
            name: "nsd".into(),
        };
        wait_for_port(port, "nsd");
        Nsd {
            port,
            dir,
            _daemon: daemon,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// A message for the IMAP tests.
pub const IMAP_ONE: &str = "From: Ann <ann@example.com>\r\nTo: alice@example.com\r\nSubject: one\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <one@example.com>\r\n\r\nfirst body\r\n";

/// A reply to [`IMAP_ONE`] with an attachment.
pub const IMAP_TWO: &str = "From: b@example.com\r\nSubject: Re: one\r\nDate: Mon, 23 Nov 2026 11:00:00 +0000\r\nMessage-ID: <two@example.com>\r\nIn-Reply-To: <one@example.com>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGr\u{fc}\u{df}e\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n";

/// An imap-server with alice's maildir holding ONE and TWO.
pub fn imap_server_with_two_messages(args: &[&str]) -> (TempDir, ImapServer) {
    let root = TempDir::new("imap");
    fill_maildir(root.path(), "alice", &[IMAP_ONE, IMAP_TWO]);
    let mut all = vec!["--user", "alice:secret pw"];
    all.extend_from_slice(args);
    let server = ImapServer::start(root.path(), &all);
    (root, server)
}

/// A message for the POP3 tests (LF line ends, a line starting with a dot).
pub const POP3_ONE: &str =
    "From: a@example.com\nSubject: one\n\n.starts with a dot\nline two\nline three\n";

/// A second one.
pub const POP3_TWO: &str = "From: b@example.com\r\nSubject: two\r\n\r\nsecond body\r\n";

/// A pop3-server with alice's maildir holding ONE and TWO.
pub fn pop3_server_with_two_messages(args: &[&str]) -> (TempDir, Pop3Server) {
    let root = TempDir::new("pop3");
    fill_maildir(root.path(), "alice", &[POP3_ONE, POP3_TWO]);
    let mut all = vec!["--user", "alice:secret pw"];
    all.extend_from_slice(args);
    let server = Pop3Server::start(root.path(), &all);
    (root, server)
}
