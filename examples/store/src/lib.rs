//! The mail store every sansmail service shares.
//!
//! One [`Store`] per process holds accounts by user name; an [`Account`]
//! holds folders; an open folder is a [`Mailbox`] shared by every IMAP,
//! POP3 and JMAP session and every delivery in the process. A mailbox's
//! index (UIDVALIDITY, UIDs, flags and keywords, a mod-sequence per
//! message, stable email and thread ids) lives in memory; writes go
//! through the backend before they reach it, and its change feed tells
//! every session what changed, in order, whoever changed it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sansmail_store::StoreError> {
//! use sansmail_store::{Maildir, NewMessage, Store};
//!
//! let store = Store::new(Box::new(Maildir::open("mail".as_ref(), "mx.example.com")?), None);
//! let alice = store.account("alice").await?;
//! let inbox = alice.open("INBOX").await?;
//! let mut feed = inbox.subscribe();
//! inbox.append(vec![NewMessage::bytes(&b"Subject: hi\r\n\r\nHello\r\n"[..])]).await?;
//! feed.changed().await.ok();
//! for change in inbox.index().changes_since(1).into_iter().flatten() {
//!     println!("{change:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! Backends implement [`backend`]'s traits; [`Maildir`] (the default) keeps
//! mail as Dovecot does, so either can serve the other's maildir.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod backend;
pub mod error;
pub mod flags;
pub mod ids;
pub mod index;
pub mod mailbox;
pub mod maildir;
pub mod plain;
pub mod postgres;
pub mod store;

pub use account::{Account, DEFAULT_FOLDERS, DELIMITER, FolderInfo, SpecialUse};
pub use backend::Source;
pub use error::{Result, StoreError};
pub use flags::{FlagAction, FlagSet, Flags, Keyword, SystemFlag};
pub use ids::{EmailId, MailboxId, ThreadId};
pub use index::{Change, Entry, Index, LogEntry};
pub use mailbox::{Appended, FlagsOutcome, Mailbox, NewMessage, Stored};
pub use maildir::Maildir;
pub use postgres::{Database, Postgres};
pub use store::Store;
