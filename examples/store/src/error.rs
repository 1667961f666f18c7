//! What can go wrong in the store, in terms a protocol can answer with.

use std::io;

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such folder or message.
    #[error("no such mailbox or message")]
    NotFound,
    /// The folder already exists.
    #[error("the mailbox already exists")]
    AlreadyExists,
    /// A folder name the store cannot hold.
    #[error("bad mailbox name: {0}")]
    BadName(String),
    /// INBOX cannot be deleted, or a folder cannot be moved under itself.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// The user's quota would be exceeded.
    #[error("quota exceeded")]
    OverQuota,
    /// The mailbox cannot take more keywords.
    #[error("too many keywords in this mailbox")]
    TooManyKeywords,
    /// Another server sharing the storage changed the mailbox since this
    /// one last read it: read the changes, then try again.
    #[error("the mailbox changed elsewhere")]
    Conflict,
    /// The storage failed.
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

impl StoreError {
    /// True when trying again later may succeed (a storage failure).
    pub fn is_temporary(&self) -> bool {
        matches!(self, StoreError::Io(_) | StoreError::Conflict)
    }
}

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn joined(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(io::Error::other(e))
}
