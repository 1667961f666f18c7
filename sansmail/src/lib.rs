//! Send and read email from any Rust program, in a few lines, on tokio.
//!
//! Built on the sansmail protocol crates (Sans-IO state machines for SMTP,
//! IMAP, POP3, MX lookup) and their tokio drivers, with TLS by rustls.
//!
//! - Sending: [`Mailer`] (a pool of submission connections from a URL such
//!   as `smtp+starttls://user:pass@host`), [`SmtpConnection`] (one
//!   session), [`DirectMailer`] (straight to the recipients' MX hosts).
//!   Messages are [`Outgoing`]: built with [`mime::builder`] (which `send`
//!   takes as it is) or raw bytes.
//!   Each send reports every recipient's outcome.
//! - Reading: [`ImapClient`] (folders, new messages as parsed [`mime`]
//!   messages, flags, move, delete), [`Watcher`] (arrivals through IDLE,
//!   reconnecting), [`Pop3Client`] (list, retrieve, delete, resume by UIDL).
//! - Errors ([`Error`]) say what to do: fix the credentials, drop a
//!   recipient, retry later ([`Error::is_temporary`]), fix TLS
//!   ([`TlsProblem`] names the certificate problem).
//!
//! Send a message with an attachment:
//!
//! ```no_run
//! # async fn f() -> Result<(), sansmail::Error> {
//! use sansmail::mime::builder::{Entity, MessageBuilder};
//! use sansmail::mime::Mailbox;
//! use sansmail::Mailer;
//!
//! let mailer = Mailer::new("smtp+starttls://app:secret@mail.example.com")?;
//! let message = MessageBuilder::new(Entity::mixed(vec![
//!     Entity::text("The report is attached.\n"),
//!     Entity::attachment("application/pdf", "report.pdf", std::fs::read("report.pdf").unwrap()),
//! ]))
//! .from("Reports <app@example.com>".parse::<Mailbox>().unwrap())
//! .to(Mailbox::new(Some("The Boss"), "boss@example.com"))
//! .bcc(Mailbox::new(None, "archive@example.com"))
//! .subject("Monthly report");
//! let report = mailer.send(message).await?;
//! for refused in report.refused() {
//!     eprintln!("{} refused: {}", refused.recipient, refused.status.reply());
//! }
//! # Ok(()) }
//! ```
//!
//! Wait for new mail:
//!
//! ```no_run
//! # async fn f() -> Result<(), sansmail::Error> {
//! use sansmail::{Endpoint, Watcher};
//!
//! let mut inbox = Watcher::new(Endpoint::parse("imaps://me:secret@imap.example.com")?, "INBOX");
//! loop {
//!     let message = inbox.next().await?;
//!     println!("{:?}", message.parse().subject());
//! }
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod dane;
mod direct;
mod endpoint;
mod error;
mod imap;
mod message;
mod mta_sts;
mod pool;
mod pop3;
mod smtp;

pub use direct::DirectMailer;
pub use endpoint::{Endpoint, Protocol, Security, Trust, client_tls_config};
pub use error::{ConfigProblem, Error, MessageProblem, TlsProblem};
pub use imap::{FetchedMessage, Flag, Folder, FolderState, ImapClient, Watcher};
pub use message::Outgoing;
pub use pool::Mailer;
pub use pop3::{Pop3Client, Pop3Message};
pub use sansmail_mime as mime;
pub use sansmail_mx::tls_rpt;
pub use sansmail_smtp::client::{DeliveryStatus, RecipientOutcome};
pub use sansmail_smtp::types::{ForwardPath, Reply};
pub use smtp::{Report, SmtpConnection};
