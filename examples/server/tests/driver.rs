//! The tokio drivers run our IMAP client and server sessions against each
//! other over an in-memory pipe, through STARTTLS, IDLE and LOGOUT.

use std::time::{Duration, Instant};

use sansmail_examples::tls::{self as client_tls, Trust};
use sansmail_imap::client::{self, Event as ClientEvent};
use sansmail_imap::driver::{Driver, Step, Tls};
use sansmail_imap::server::{self, Event as ServerEvent, SelectInfo};
use sansmail_imap::types::{CommandBody, Mailbox, SelectParams, StatusKind, Untagged};
use sansmail_server::tls;
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn nz(n: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(n).unwrap()
}

#[tokio::test]
async fn client_and_server_drivers_talk_through_starttls() {
    let (identity, pem) = tls::self_signed(&["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("sansmail-driver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("cert.pem");
    std::fs::write(&ca, pem).unwrap();
    let acceptor = TlsAcceptor::from(tls::server_config(identity).unwrap());
    let connector = TlsConnector::from(client_tls::client_config(&Trust::PemFile(ca)).unwrap());
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let (a, b) = tokio::io::duplex(4096);

    #[allow(clippy::disallowed_methods)] // tests run on the real clock here
    let now = Instant::now();
    let server_task = tokio::spawn(async move {
        let mut config = server::Config::default();
        config.hostname = "test".into();
        let mut driver = Driver::new(server::Session::new(config, now), a, Tls::Server(acceptor));
        let mut idled = false;
        loop {
            // Once IDLE runs, a message "arrives" a moment later.
            let wake = idled.then(|| Instant::now() + Duration::from_millis(50));
            match driver.step(wake).await.unwrap() {
                Step::Event(ServerEvent::Command {
                    ticket,
                    command: CommandBody::Select { .. },
                }) => {
                    let info = SelectInfo {
                        uid_validity: nz(9),
                        uid_next: nz(2),
                        uids: vec![nz(1)],
                        flags: vec![],
                        permanent_flags: vec![],
                        highest_modseq: None,
                        recent: 0,
                        first_unseen: None,
                        read_only: false,
                        changed: vec![],
                        vanished: None,
                        mailbox_id: None,
                    };
                    driver
                        .session()
                        .selected(sansmail_common::driver::now(), ticket, info)
                        .unwrap();
                }
                Step::Event(ServerEvent::Command { ticket, .. }) => {
                    driver
                        .session()
                        .complete(
                            sansmail_common::driver::now(),
                            ticket,
                            StatusKind::Ok,
                            None,
                            "done",
                        )
                        .unwrap();
                }
                Step::Event(ServerEvent::Login {
                    ticket,
                    credentials,
                }) => {
                    assert_eq!(credentials.password(), Some("secret"));
                    assert!(driver.is_tls(), "the password came over TLS");
                    driver
                        .session()
                        .accept(sansmail_common::driver::now(), ticket)
                        .unwrap();
                }
                Step::Event(ServerEvent::IdleStarted) => idled = true,
                Step::Event(e) => {
                    if let Some(t) = e.ticket() {
                        driver
                            .session()
                            .accept(sansmail_common::driver::now(), t)
                            .unwrap();
                    }
                }
                Step::Woken => {
                    idled = false;
                    driver
                        .session()
                        .mailbox_changed(sansmail_imap::mailbox::Change::Added { uid: nz(2) });
                }
                Step::Closed => return,
            }
        }
    });

    let client_config = client::Config::password("alice", "secret");
    let mut driver = Driver::new(
        client::Session::new(client_config, now),
        b,
        Tls::Client(connector, name),
    );
    let mut saw = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), driver.step(None))
            .await
            .unwrap()
            .unwrap()
        {
            Step::Event(ClientEvent::Ready { .. }) => {
                assert!(driver.is_tls());
                driver
                    .session()
                    .command(
                        sansmail_common::driver::now(),
                        CommandBody::Select {
                            mailbox: Mailbox::inbox(),
                            params: SelectParams::default(),
                        },
                    )
                    .unwrap();
                driver
                    .session()
                    .idle(sansmail_common::driver::now())
                    .unwrap();
            }
            Step::Event(ClientEvent::Untagged(Untagged::Exists(n))) => {
                saw.push(n);
                if n == 2 {
                    driver
                        .session()
                        .done(sansmail_common::driver::now())
                        .unwrap();
                    driver
                        .session()
                        .logout(sansmail_common::driver::now())
                        .unwrap();
                }
            }
            Step::Event(ClientEvent::Failed(e)) => panic!("{e}"),
            Step::Event(_) | Step::Woken => {}
            Step::Closed => break,
        }
    }
    server_task.await.unwrap();
    assert_eq!(
        saw,
        vec![1, 2],
        "EXISTS after SELECT, then the pushed arrival"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
