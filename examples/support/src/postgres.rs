//! A private PostgreSQL cluster: `initdb` in a temporary directory and
//! `pg_ctl` on a free loopback port, stopped and removed with the test.
//! As root (CI) the cluster runs as the `postgres` user the Debian
//! package makes, since PostgreSQL refuses to run as root.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{TempDir, free_port, run, running_as_root};

/// A running private cluster.
pub struct Postgres {
    pub port: u16,
    pub dir: TempDir,
    bin: PathBuf,
    user: String,
}

/// The directory of the newest installed server's programs.
fn server_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok())
                .map(|d| d.path().join("bin"))
                .filter(|p| p.join("initdb").is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().expect(
        "PostgreSQL's server is not installed (/usr/lib/postgresql/*/bin/initdb): run scripts/test.sh, which installs the postgresql package",
    )
}

impl Postgres {
    /// Makes and starts a cluster; the database `postgres` is ready.
    pub fn start() -> Self {
        let dir = TempDir::new("postgres");
        let user = if running_as_root() {
            "postgres".to_owned()
        } else {
            String::from_utf8_lossy(&Command::new("id").arg("-un").output().unwrap().stdout)
                .trim()
                .to_owned()
        };
        if running_as_root() {
            let out = run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path()),
                b"",
                Duration::from_secs(10),
            );
            assert!(out.status.success(), "chown failed");
        }
        let pg = Postgres {
            port: free_port(),
            dir,
            bin: server_bin(),
            user,
        };
        let data = pg.data();
        let out = run(
            &mut pg.command(
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                    "-U",
                    &pg.user,
                ],
            ),
            b"",
            Duration::from_secs(120),
        );
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_server();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program).args(args);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    }

    /// Starts the server (again, after [`stop`](Self::stop)) and waits for it.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = run(
            &mut self.command(
                "pg_ctl",
                &[
                    "-D",
                    self.data().to_str().unwrap(),
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
            b"",
            Duration::from_secs(90),
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Stops the server at once (`immediate`: as if it crashed).
    pub fn stop(&self) {
        let _ = run(
            &mut self.command(
                "pg_ctl",
                &[
                    "-D",
                    self.data().to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            ),
            b"",
            Duration::from_secs(60),
        );
    }

    /// The URL of database `postgres` as the cluster's superuser.
    pub fn url(&self) -> String {
        format!("postgres://{}@127.0.0.1:{}/postgres", self.user, self.port)
    }

    /// Makes mail-server's tables (`mail-server migrate`); returns what it said.
    pub fn migrate_for_mail_server(&self) -> String {
        let out = run(
            Command::new(crate::bin("mail-server")).args(["migrate", "--store-url", &self.url()]),
            b"",
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "mail-server migrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs SQL with psql; returns what it printed (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let out = run(
            Command::new("psql").args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(),
                "-c",
                sql,
            ]),
            b"",
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
