//! LIST and LSUB (with LIST-EXTENDED, LIST-STATUS and SPECIAL-USE),
//! NAMESPACE, STATUS and QUOTA.

use sansmail_imap::server::{Config, Session, Ticket};
use sansmail_imap::types::*;
use sansmail_store::{Account, DELIMITER, FolderInfo, Mailbox as StoreMailbox, SpecialUse};

use super::{Handler, answer, nz};

/// What a LIST or LSUB asked for.
pub(super) struct ListRequest {
    pub(super) selection: Vec<ListSelect>,
    pub(super) reference: Mailbox,
    pub(super) patterns: Vec<Str>,
    pub(super) returns: Vec<ListReturn>,
    pub(super) lsub: bool,
}

/// LIST pattern matching: `*` matches anything, `%` anything but the delimiter.
pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('%', rest)) => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != DELIMITER)
                .any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first().is_some_and(|x| x == c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if name == "INBOX" {
        // INBOX matches in any case.
        let upper: Vec<char> = pattern.to_ascii_uppercase().chars().collect();
        return go(&upper, &n) || go(&p, &n);
    }
    go(&p, &n)
}

fn special_attr(use_: SpecialUse) -> MailboxAttr {
    match use_ {
        SpecialUse::Sent => MailboxAttr::Sent,
        SpecialUse::Drafts => MailboxAttr::Drafts,
        SpecialUse::Trash => MailboxAttr::Trash,
        SpecialUse::Junk => MailboxAttr::Junk,
        SpecialUse::Archive => MailboxAttr::Archive,
    }
}

/// STATUS values of a mailbox.
pub(super) fn status_values(
    mailbox: &StoreMailbox,
    items: &[StatusItem],
    config: &Config,
) -> Vec<StatusValue> {
    let recent = if items.contains(&StatusItem::Recent) {
        mailbox.recent_uids().len() as u32
    } else {
        0
    };
    let index = mailbox.index();
    items
        .iter()
        .filter_map(|item| {
            Some(match item {
                StatusItem::Messages => StatusValue::Messages(index.messages.len() as u32),
                StatusItem::UidNext => StatusValue::UidNext(nz(index.uid_next)),
                StatusItem::UidValidity => StatusValue::UidValidity(nz(index.uid_validity)),
                StatusItem::Unseen => StatusValue::Unseen(index.unseen() as u32),
                StatusItem::Deleted => StatusValue::Deleted(
                    index
                        .messages
                        .iter()
                        .filter(|m| m.flags.has(sansmail_store::SystemFlag::Deleted))
                        .count() as u32,
                ),
                StatusItem::Size => StatusValue::Size(index.total_size()),
                StatusItem::Recent => StatusValue::Recent(recent),
                StatusItem::HighestModSeq => StatusValue::HighestModSeq(index.highest_modseq),
                StatusItem::MailboxId => {
                    StatusValue::MailboxId(Atom::new(Str::from(index.id.to_string())).ok()?)
                }
                StatusItem::AppendLimit => {
                    StatusValue::AppendLimit(Some(u64::from(config.max_append)))
                }
            })
        })
        .collect()
}

/// The personal namespace: no prefix, `.` between levels.
pub(super) fn namespace(ticket: Ticket, session: &mut Session) {
    let ns = Namespace {
        personal: vec![NamespaceDescr {
            prefix: Str::new(),
            delimiter: Some(DELIMITER),
            extensions: Vec::new(),
        }],
        other: Vec::new(),
        shared: Vec::new(),
    };
    answer(session.data(ticket, Untagged::Namespace(ns)));
}

/// QUOTA: the account's storage, in KiB.
pub(super) async fn quota(account: &Account) -> Untagged {
    let usage = account.usage().await.unwrap_or(0);
    let limit = account.quota().unwrap_or(u64::MAX / 2);
    Untagged::Quota {
        root: Str::new(),
        resources: vec![QuotaResource {
            name: Atom::new("STORAGE").expect("STORAGE is an atom"),
            usage: usage / 1024,
            limit: limit / 1024,
        }],
    }
}

impl Handler<'_> {
    pub(super) async fn status(
        &mut self,
        ticket: Ticket,
        account: &Account,
        mailbox: Mailbox,
        items: &[StatusItem],
        session: &mut Session,
    ) {
        let name = Self::name_of(&mailbox, session);
        match account.open(&name).await {
            Ok(opened) => {
                let items = status_values(&opened, items, &self.shared.config);
                answer(session.data(ticket, Untagged::MailboxStatus { mailbox, items }));
                Self::ok(session, ticket, "STATUS");
            }
            Err(e) => Self::failed(session, ticket, &e),
        }
    }

    pub(super) async fn list(
        &mut self,
        ticket: Ticket,
        account: &Account,
        request: ListRequest,
        session: &mut Session,
    ) {
        let ListRequest {
            selection,
            reference,
            patterns,
            returns,
            lsub,
        } = request;
        let name_word = if lsub { "LSUB" } else { "LIST" };
        let reference = if reference.as_bytes().is_empty() {
            String::new()
        } else {
            Self::name_of(&reference, session)
        };
        // LIST "" "" asks for the delimiter.
        if patterns.iter().all(|p| p.is_empty()) {
            if !lsub {
                let item = ListItem {
                    attrs: vec![MailboxAttr::NoSelect],
                    delimiter: Some(DELIMITER),
                    mailbox: Mailbox::new(Str::new()).unwrap_or_else(|_| Mailbox::inbox()),
                    child_info: Vec::new(),
                    old_name: None,
                };
                answer(session.data(ticket, Untagged::List(item)));
            }
            return Self::ok(session, ticket, name_word);
        }
        let folders = match account.folders().await {
            Ok(f) => f,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        let subscribed = match account.subscriptions().await {
            Ok(s) => s,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        let utf8 = session.is_enabled(&Capability::Utf8Accept);
        let patterns: Vec<String> = patterns
            .iter()
            .map(|p| {
                let p = if utf8 {
                    String::from_utf8_lossy(p).into_owned()
                } else {
                    decode_modified_utf7(p)
                        .unwrap_or_else(|| String::from_utf8_lossy(p).into_owned())
                };
                format!("{reference}{p}")
            })
            .collect();
        let matches = |name: &str| patterns.iter().any(|p| wildcard_match(p, name));
        let only_subscribed = selection.contains(&ListSelect::Subscribed);
        let only_special = selection.contains(&ListSelect::SpecialUse);
        let recursive = selection.contains(&ListSelect::RecursiveMatch);
        let want_subscribed = only_subscribed || returns.contains(&ListReturn::Subscribed);
        let status_items = returns.iter().find_map(|r| match r {
            ListReturn::Status(items) => Some(items.clone()),
            _ => None,
        });
        // The names to consider: every folder (with implied parents), and
        // subscribed names (with theirs) that do not exist.
        let mut names: Vec<FolderInfo> = folders.clone();
        for s in &subscribed {
            let mut at = 0;
            loop {
                let level = match s[at..].find(DELIMITER) {
                    Some(i) => &s[..at + i],
                    None => s.as_str(),
                };
                if !names.iter().any(|f| f.name == level) {
                    names.push(FolderInfo {
                        name: level.to_owned(),
                        selectable: false,
                        has_children: level.len() < s.len(),
                        subscribed: level == s,
                        special_use: None,
                    });
                }
                if level.len() == s.len() {
                    break;
                }
                at = level.len() + 1;
            }
        }
        let exists = |name: &str| folders.iter().any(|f| f.name == name && f.selectable);
        let mut listed: Vec<(String, Vec<MailboxAttr>, bool)> = Vec::new();
        for f in &names {
            if !matches(&f.name) || (only_special && f.special_use.is_none()) {
                continue;
            }
            let is_subscribed = subscribed.iter().any(|s| s == &f.name);
            let prefix = format!("{}{DELIMITER}", f.name);
            // A level is shown for its subscribed children only when the
            // pattern stopped at it (`%`), not when they match themselves.
            let subscribed_child = subscribed
                .iter()
                .any(|s| s.starts_with(&prefix) && !matches(s));
            let known = folders.iter().any(|x| x.name == f.name);
            if (only_subscribed || lsub) && !is_subscribed && !subscribed_child {
                continue;
            }
            if !(only_subscribed || lsub || known) {
                // A subscription to a folder that does not exist is listed
                // only when subscriptions were asked for.
                continue;
            }
            let mut attrs = Vec::new();
            if lsub {
                // LSUB shows a level with subscribed children as \Noselect
                // (RFC 3501 §6.3.9), and nothing else.
                if !is_subscribed || !exists(&f.name) {
                    attrs.push(MailboxAttr::NoSelect);
                }
                listed.push((f.name.clone(), attrs, false));
                continue;
            }
            if !exists(&f.name) {
                if known {
                    attrs.push(MailboxAttr::NoSelect);
                } else {
                    attrs.push(MailboxAttr::NonExistent);
                }
            }
            attrs.push(if f.has_children {
                MailboxAttr::HasChildren
            } else {
                MailboxAttr::HasNoChildren
            });
            if only_subscribed && !is_subscribed {
                // RECURSIVEMATCH: listed for its subscribed children (RFC 5258 §3.5).
                if recursive {
                    listed.push((f.name.clone(), attrs, true));
                }
                continue;
            }
            if want_subscribed && is_subscribed {
                attrs.push(MailboxAttr::Subscribed);
            }
            if let Some(use_) = f.special_use {
                attrs.push(special_attr(use_));
            }
            listed.push((f.name.clone(), attrs, false));
        }
        for (name, attrs, child_info) in listed {
            let mailbox = Self::wire_name(&name, session);
            let item = ListItem {
                attrs,
                delimiter: Some(DELIMITER),
                mailbox: mailbox.clone(),
                child_info: if child_info {
                    vec![Str::from("SUBSCRIBED")]
                } else {
                    Vec::new()
                },
                old_name: None,
            };
            answer(session.data(
                ticket,
                if lsub {
                    Untagged::Lsub(item)
                } else {
                    Untagged::List(item)
                },
            ));
            if let Some(items) = &status_items
                && exists(&name)
                && let Ok(opened) = account.open(&name).await
            {
                let items = status_values(&opened, items, &self.shared.config);
                answer(session.data(ticket, Untagged::MailboxStatus { mailbox, items }));
            }
        }
        Self::ok(session, ticket, name_word);
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "a.b"));
        assert!(wildcard_match("%", "a"));
        assert!(!wildcard_match("%", "a.b"));
        assert!(wildcard_match("a.%", "a.b"));
        assert!(wildcard_match("inbox", "INBOX"));
        assert!(!wildcard_match("inbox.x", "INBOX"));
    }
}
