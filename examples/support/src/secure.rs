//! Peers for the secure-relaying tests: a private certificate authority, a
//! DNSSEC-signed zone behind a validating `unbound`, an HTTPS server for
//! MTA-STS policies, and a man in the middle that strips STARTTLS.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Daemon, Nsd, TempDir, free_port, require, run, wait_for_addr, wait_for_port};

/// A private certificate authority.
pub struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

/// A certificate the authority issued: the chain (leaf, then the CA) and the key, as PEM.
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    /// The leaf's SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
}

impl Ca {
    pub fn new() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sansmail test CA");
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// A certificate for `names`.
    pub fn issue(&self, names: &[&str]) -> Issued {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            chain_pem: format!("{}{}", cert.pem(), self.cert.pem()),
            key_pem: key.serialize_pem(),
            spki_der: key.public_key_der(),
        }
    }
}

impl Default for Ca {
    fn default() -> Self {
        Ca::new()
    }
}

impl Issued {
    /// Writes the chain and key into `dir` as `NAME.pem` and `NAME.key`.
    pub fn write(&self, dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, &self.chain_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// Signs `zone` (for `origin`) with a new KSK and ZSK using ldns-signzone;
/// gives the signed zone text and the KSK as a DNSKEY record for a trust anchor.
pub fn sign_zone(origin: &str, zone: &str) -> (String, String) {
    let dir = TempDir::new("sign");
    let keygen = require("ldns-keygen");
    let make_key = |ksk: bool| {
        let mut cmd = Command::new(&keygen);
        cmd.current_dir(dir.path()).args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            cmd.arg("-k");
        }
        let out = run(cmd.arg(origin), b"", Duration::from_secs(30));
        assert!(out.status.success(), "ldns-keygen failed");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (ksk, zsk) = (make_key(true), make_key(false));
    std::fs::write(dir.path().join("zone"), zone).unwrap();
    let out = run(
        Command::new(require("ldns-signzone"))
            .current_dir(dir.path())
            .args(["-o", origin, "zone", &ksk, &zsk]),
        b"",
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "ldns-signzone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = std::fs::read_to_string(dir.path().join("zone.signed")).unwrap();
    let anchor = std::fs::read_to_string(dir.path().join(format!("{ksk}.key"))).unwrap();
    (signed, anchor)
}

/// A validating `unbound` on 127.0.0.1 that asks `nsd` for `origin`,
/// trusting `anchor` (a DNSKEY or DS record) when given; stopped on drop.
pub struct Unbound {
    pub port: u16,
    _dir: TempDir,
    _daemon: Daemon,
}

impl Unbound {
    pub fn start(origin: &str, nsd: &Nsd, anchor: Option<&str>) -> Unbound {
        let dir = TempDir::new("unbound");
        let d = dir.path().display().to_string();
        let port = loop {
            let port = free_port();
            if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        let anchor_line = match anchor {
            Some(anchor) => {
                std::fs::write(dir.path().join("anchor"), anchor).unwrap();
                format!("  trust-anchor-file: \"{d}/anchor\"\n")
            }
            None => String::new(),
        };
        let config = format!(
            "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n\
             \x20 username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n\
             \x20 use-syslog: no\n  logfile: \"{d}/unbound.log\"\n  verbosity: 1\n  val-log-level: 2\n\
             \x20 do-not-query-localhost: no\n  qname-minimisation: no\n\
             \x20 local-zone: \"test.\" nodefault\n  module-config: \"validator iterator\"\n\
             {anchor_line}\
             remote-control:\n  control-enable: no\n\
             stub-zone:\n  name: \"{origin}\"\n  stub-addr: 127.0.0.1@{}\n",
            nsd.port
        );
        let conf = dir.path().join("unbound.conf");
        std::fs::write(&conf, config).unwrap();
        let check = run(
            Command::new(require("unbound-checkconf")).arg(&conf),
            b"",
            Duration::from_secs(20),
        );
        assert!(
            check.status.success(),
            "unbound.conf: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(require("unbound"))
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start unbound");
        let daemon = Daemon {
            child,
            name: "unbound".into(),
        };
        wait_for_port(port, "unbound");
        Unbound {
            port,
            _dir: dir,
            _daemon: daemon,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// An HTTPS server (Python's `http.server` with `ssl`) on 127.0.0.1 that
/// serves `/.well-known/mta-sts.txt` by Host: the policy text for the
/// host, or a redirect for a policy starting `redirect:`, the policy as
/// `application/json` after `json:`, or padded past 64 KiB after `huge:`; and keeps the
/// body of every POST (TLS reports), see [`PolicyServer::posted`].
pub struct PolicyServer {
    pub port: u16,
    dir: TempDir,
    _daemon: Daemon,
}

impl PolicyServer {
    pub fn start(cert: &Issued, policies: &[(&str, &str)]) -> PolicyServer {
        let dir = TempDir::new("https");
        let (cert, key) = cert.write(dir.path(), "https");
        let posted = dir.path().join("posted");
        std::fs::create_dir_all(&posted).unwrap();
        let posted = posted.display().to_string();
        let port = free_port();
        let table: Vec<String> = policies
            .iter()
            .map(|(host, text)| format!("{host:?}: {text:?}"))
            .collect();
        let script = format!(
            r#"
import http.server, ssl
POLICIES = {{{}}}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        text = POLICIES.get(host)
        if self.path != "/.well-known/mta-sts.txt" or text is None:
            self.send_response(404); self.end_headers(); return
        if text.startswith("redirect:"):
            self.send_response(301)
            self.send_header("Location", text[len("redirect:"):])
            self.end_headers(); return
        kind = "text/plain"
        if text.startswith("json:"):
            kind, text = "application/json", text[len("json:"):]
        if text.startswith("huge:"):
            text = text[len("huge:"):] + "\r\n" * 40000
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        global POSTS
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        POSTS += 1
        kind = self.headers.get("Content-Type") or ""
        with open(f"{posted}/{{POSTS}}-" + kind.replace("/", "_"), "wb") as f:
            f.write(body)
        self.send_response(201); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass
POSTS = 0
server = http.server.ThreadingHTTPServer(("127.0.0.1", {port}), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain({cert:?}, {key:?})
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#,
            table.join(", ")
        );
        let child = Command::new(require("python3"))
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the policy server");
        let daemon = Daemon {
            child,
            name: "https policy server".into(),
        };
        wait_for_port(port, "https policy server");
        PolicyServer {
            port,
            dir,
            _daemon: daemon,
        }
    }

    /// The POSTs received so far: (Content-Type, body), in order.
    pub fn posted(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("posted"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let name = f.file_name().unwrap().to_str().unwrap();
                let kind = name.split_once('-').unwrap().1.replace('_', "/");
                (kind, std::fs::read(f).unwrap())
            })
            .collect()
    }
}

/// A man in the middle at `listen` that relays to `upstream` and hides
/// STARTTLS from the EHLO reply, as an active attacker on the path would.
pub fn strip_starttls(listen: &str, upstream: &str) {
    let listener = TcpListener::bind(listen).unwrap();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]).replace("STARTTLS", "XSTRIPPED");
                    if c_write.write_all(text.as_bytes()).is_err() {
                        break;
                    }
                }
                let _ = c_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    wait_for_addr(listen, "STARTTLS stripper");
}
