//! One consistent picture of an account for a request: its folders as
//! JMAP mailboxes and its messages as JMAP emails (one email per content,
//! in every folder that holds a copy).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use sansmail_store::{
    DELIMITER, EmailId, Mailbox, MailboxId, SpecialUse, Store, StoreError, SystemFlag, ThreadId,
};

/// A folder as a JMAP mailbox.
pub(crate) struct MailboxView {
    /// Its id.
    pub id: MailboxId,
    /// Its full store name (levels joined by the delimiter).
    pub name: String,
    /// The RFC 8621 role.
    pub role: Option<&'static str>,
    /// Subscribed.
    pub subscribed: bool,
    /// The open mailbox.
    pub mailbox: Arc<Mailbox>,
}

/// One message content, wherever its copies are.
pub(crate) struct EmailView {
    /// Its id (from the content).
    pub id: EmailId,
    /// Its thread.
    pub thread: ThreadId,
    /// (mailbox position in [`AccountView::mailboxes`], UID) of each copy.
    pub places: Vec<(usize, u32)>,
    /// System flags of the first copy.
    pub system: u8,
    /// Keywords of the first copy.
    pub keywords: Vec<String>,
    /// Octets.
    pub size: u64,
    /// Arrival (seconds since the epoch).
    pub received: i64,
}

impl EmailView {
    /// The JMAP keywords: system flags as `$seen` and the like, then the
    /// mailbox keywords (lowercased, as JMAP keywords are).
    pub(crate) fn jmap_keywords(&self) -> Vec<String> {
        let mut out: Vec<String> = self.system_keywords().map(str::to_owned).collect();
        out.extend(self.keywords.iter().map(|k| k.to_ascii_lowercase()));
        out
    }

    /// Whether the email has the JMAP `keyword` (compared without case).
    pub(crate) fn has_keyword(&self, keyword: &str) -> bool {
        self.system_keywords()
            .any(|k| k.eq_ignore_ascii_case(keyword))
            || self
                .keywords
                .iter()
                .any(|k| k.eq_ignore_ascii_case(keyword))
    }

    /// The system flags set, as JMAP keywords (`\Deleted` has none).
    fn system_keywords(&self) -> impl Iterator<Item = &'static str> + '_ {
        SystemFlag::ALL
            .into_iter()
            .filter(|f| self.system & f.bit() != 0)
            .filter_map(|f| match f {
                SystemFlag::Seen => Some("$seen"),
                SystemFlag::Flagged => Some("$flagged"),
                SystemFlag::Answered => Some("$answered"),
                SystemFlag::Draft => Some("$draft"),
                SystemFlag::Deleted => None,
            })
    }
}

/// Fingerprints of an account at one state, for `/changes`.
pub(crate) struct Snapshot {
    /// Email id → fingerprint.
    pub emails: HashMap<EmailId, u64>,
    /// Mailbox id → fingerprint.
    pub mailboxes: HashMap<MailboxId, u64>,
}

/// The account as one request sees it.
pub(crate) struct AccountView {
    /// The account.
    pub account: Arc<sansmail_store::Account>,
    /// Its selectable folders.
    pub mailboxes: Vec<MailboxView>,
    /// Its emails, newest first.
    pub emails: Vec<EmailView>,
    by_id: HashMap<EmailId, usize>,
    /// Each folder's index as it was read: UIDVALIDITY, highest
    /// mod-sequence and message count, taken under the same read lock as
    /// the emails, so the view's state never runs ahead of its content.
    pub marks: Vec<Mark>,
}

/// What tells one read of a folder's index from another.
pub(crate) type Mark = (u32, u64, usize);

/// The mark of a folder's `index`.
pub(crate) fn mark(index: &sansmail_store::Index) -> Mark {
    (
        index.uid_validity,
        index.highest_modseq,
        index.messages.len(),
    )
}

impl AccountView {
    /// Opens every selectable folder of `user` and reads their indexes.
    pub(crate) async fn load(store: &Store, user: &str) -> Result<AccountView, StoreError> {
        let account = store.account(user).await?;
        account.ensure_default_folders().await?;
        let mut mailboxes = Vec::new();
        for folder in account.folders().await? {
            if !folder.selectable {
                continue;
            }
            let mailbox = account.open(&folder.name).await?;
            let role = match (folder.name.as_str(), folder.special_use) {
                ("INBOX", _) => Some("inbox"),
                (_, Some(SpecialUse::Sent)) => Some("sent"),
                (_, Some(SpecialUse::Drafts)) => Some("drafts"),
                (_, Some(SpecialUse::Trash)) => Some("trash"),
                (_, Some(SpecialUse::Junk)) => Some("junk"),
                (_, Some(SpecialUse::Archive)) => Some("archive"),
                (_, None) => None,
            };
            mailboxes.push(MailboxView {
                id: mailbox.id(),
                name: folder.name,
                role,
                subscribed: folder.subscribed,
                mailbox,
            });
        }
        let mut emails: Vec<EmailView> = Vec::new();
        let mut by_id: HashMap<EmailId, usize> = HashMap::new();
        let mut marks = Vec::with_capacity(mailboxes.len());
        for (position, view) in mailboxes.iter().enumerate() {
            let index = view.mailbox.index();
            marks.push(mark(&index));
            for entry in &index.messages {
                if entry.flags.system & SystemFlag::Deleted.bit() != 0 {
                    continue;
                }
                match by_id.get(&entry.email_id) {
                    Some(&i) => emails[i].places.push((position, entry.uid)),
                    None => {
                        by_id.insert(entry.email_id, emails.len());
                        emails.push(EmailView {
                            id: entry.email_id,
                            thread: entry.thread_id,
                            places: vec![(position, entry.uid)],
                            system: entry.flags.system,
                            keywords: index
                                .keyword_names(&entry.flags)
                                .into_iter()
                                .map(|k| k.as_str().to_owned())
                                .collect(),
                            size: entry.size,
                            received: entry.received,
                        });
                    }
                }
            }
        }
        emails.sort_by(|a, b| (b.received, b.places[0]).cmp(&(a.received, a.places[0])));
        let by_id = emails.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        Ok(AccountView {
            account,
            mailboxes,
            emails,
            by_id,
            marks,
        })
    }

    /// The email with id `id` (as text).
    pub(crate) fn email(&self, id: &str) -> Option<&EmailView> {
        let id: EmailId = id.parse().ok()?;
        self.by_id.get(&id).map(|&i| &self.emails[i])
    }

    /// The mailbox with id `id` (as text), by position.
    pub(crate) fn mailbox(&self, id: &str) -> Option<usize> {
        self.mailboxes.iter().position(|m| m.id.to_string() == id)
    }

    /// The state of this view: it changes with any change to any folder.
    pub(crate) fn session_state(&self) -> String {
        state_of(
            self.mailboxes
                .iter()
                .zip(&self.marks)
                .map(|(m, mark)| (m, *mark)),
        )
    }

    /// The account's state now, with changes made since the view was read
    /// (the `newState` after a set).
    pub(crate) fn live_state(&self) -> String {
        state_of(self.mailboxes.iter().map(|m| (m, mark(&m.mailbox.index()))))
    }

    /// What `/changes` compares: a fingerprint of each email (its
    /// mailboxes and keywords) and of each mailbox (name and counts).
    pub(crate) fn snapshot(&self) -> Snapshot {
        let hash = |parts: &[&[u8]]| {
            let mut digest = Sha256::new();
            for p in parts {
                digest.update(p);
                digest.update([0]);
            }
            u64::from_be_bytes(digest.finalize()[..8].try_into().expect("8 octets"))
        };
        let emails = self
            .emails
            .iter()
            .map(|e| {
                let mut places: Vec<String> = e
                    .places
                    .iter()
                    .map(|(p, _)| self.mailboxes[*p].id.to_string())
                    .collect();
                places.sort();
                let keywords = e.jmap_keywords().join(" ");
                (
                    e.id,
                    hash(&[places.join(" ").as_bytes(), keywords.as_bytes()]),
                )
            })
            .collect();
        let mailboxes = self
            .mailboxes
            .iter()
            .enumerate()
            .map(|(position, m)| {
                let (total, unread) = self.emails.iter().fold((0u64, 0u64), |(t, u), e| {
                    if e.places.iter().any(|(p, _)| *p == position) {
                        let unseen = e.system & SystemFlag::Seen.bit() == 0;
                        (t + 1, u + u64::from(unseen))
                    } else {
                        (t, u)
                    }
                });
                let counts = format!("{total} {unread} {}", m.subscribed);
                (m.id, hash(&[m.name.as_bytes(), counts.as_bytes()]))
            })
            .collect();
        Snapshot { emails, mailboxes }
    }

    /// The last level of a folder's name, and its parent's full name.
    pub(crate) fn split_name(name: &str) -> (&str, Option<&str>) {
        match name.rsplit_once(DELIMITER) {
            Some((parent, last)) => (last, Some(parent)),
            None => (name, None),
        }
    }
}

/// A state string from each folder's name and mark.
fn state_of<'a>(folders: impl Iterator<Item = (&'a MailboxView, Mark)>) -> String {
    let mut digest = Sha256::new();
    for (m, (uid_validity, highest_modseq, messages)) in folders {
        digest.update(m.name.as_bytes());
        digest.update(uid_validity.to_be_bytes());
        digest.update(highest_modseq.to_be_bytes());
        digest.update(messages.to_be_bytes());
    }
    digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sansmail_store::{Maildir, NewMessage};

    /// A view's state names what the view holds: a delivery after it was
    /// read changes the live state, not the view's, so the cache and the
    /// change history never file old content under a new state.
    #[tokio::test]
    async fn the_state_is_the_content_read() {
        let dir = std::env::temp_dir().join(format!("jmap-view-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::new(Box::new(Maildir::open(&dir, "test.host").unwrap()), None);
        let view = AccountView::load(&store, "alice").await.unwrap();
        let read = view.session_state();
        assert_eq!(read, view.live_state());
        let inbox = view.mailboxes.iter().find(|m| m.name == "INBOX").unwrap();
        inbox
            .mailbox
            .append(vec![NewMessage::bytes(
                b"Subject: new\r\n\r\nx\r\n".to_vec(),
            )])
            .await
            .unwrap();
        assert_eq!(view.session_state(), read, "the view still holds no email");
        assert!(view.emails.is_empty());
        assert_ne!(view.live_state(), read);
        let again = AccountView::load(&store, "alice").await.unwrap();
        assert_eq!(again.emails.len(), 1);
        assert_eq!(again.session_state(), view.live_state());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
