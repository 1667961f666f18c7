//! SEARCH keys evaluated over a message (RFC 9051 §6.4.4): flags, dates,
//! sizes, and case-insensitive substring search in decoded headers and
//! bodies, whatever their charset.

use std::num::NonZeroU32;

use sansmail_mime::charset::{decode_text, encoding_for};
use sansmail_mime::{Body, Message};

use super::Metadata;
use crate::types::{Date, Flag, SearchKey, SequenceSet, Str};

/// Why a search cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The CHARSET is unknown: answer `NO [BADCHARSET (UTF-8 US-ASCII)]`.
    #[error("unknown charset")]
    BadCharset,
}

/// One message and what a search needs to know around it.
#[derive(Clone, Copy, Debug)]
pub struct SearchContext<'m, 'a> {
    /// The parsed message.
    pub message: &'m Message<'a>,
    /// Its metadata.
    pub meta: &'m Metadata,
    /// Its message number.
    pub seq: NonZeroU32,
    /// Messages in the mailbox (for `*` in message numbers).
    pub exists: u32,
    /// The largest UID in the mailbox (for `*` in UIDs).
    pub largest_uid: u32,
    /// The time now, seconds since the epoch (OLDER, YOUNGER).
    pub now: i64,
    /// The mailbox keeps save dates (SAVEDATESUPPORTED).
    pub save_date_supported: bool,
}

/// Search keys with their strings decoded from the CHARSET and lowercased,
/// ready to test many messages.
#[derive(Clone, Debug)]
pub struct PreparedSearch {
    keys: Vec<SearchKey>,
}

impl PreparedSearch {
    /// Decodes the keys' strings from `charset` (US-ASCII when `None`).
    pub fn new(keys: &[SearchKey], charset: Option<&[u8]>) -> Result<Self, SearchError> {
        if let Some(c) = charset {
            encoding_for(c).ok_or(SearchError::BadCharset)?;
        }
        let keys = keys.iter().map(|k| prepare(k, charset)).collect();
        Ok(PreparedSearch { keys })
    }

    /// True when some key looks at the message's header or body; when
    /// false, [`SearchContext::message`] may be an empty message.
    pub fn needs_content(&self) -> bool {
        self.keys.iter().any(needs_content)
    }

    /// True when the message matches every key.
    pub fn matches(&self, ctx: &SearchContext<'_, '_>) -> bool {
        self.keys.iter().all(|k| eval(k, ctx))
    }
}

/// True when the message matches every key, the strings being in `charset`.
pub fn matches(
    keys: &[SearchKey],
    charset: Option<&[u8]>,
    ctx: &SearchContext<'_, '_>,
) -> Result<bool, SearchError> {
    Ok(PreparedSearch::new(keys, charset)?.matches(ctx))
}

fn fold(s: &[u8], charset: Option<&[u8]>) -> Str {
    Str::from(decode_text(s, charset).text.to_lowercase())
}

fn prepare(key: &SearchKey, charset: Option<&[u8]>) -> SearchKey {
    let f = |s: &Str| fold(s, charset);
    match key {
        SearchKey::Bcc(s) => SearchKey::Bcc(f(s)),
        SearchKey::Body(s) => SearchKey::Body(f(s)),
        SearchKey::Cc(s) => SearchKey::Cc(f(s)),
        SearchKey::From(s) => SearchKey::From(f(s)),
        SearchKey::Subject(s) => SearchKey::Subject(f(s)),
        SearchKey::Text(s) => SearchKey::Text(f(s)),
        SearchKey::To(s) => SearchKey::To(f(s)),
        SearchKey::Header(name, s) => SearchKey::Header(name.clone(), f(s)),
        SearchKey::Not(k) => SearchKey::Not(Box::new(prepare(k, charset))),
        SearchKey::Or(a, b) => {
            SearchKey::Or(Box::new(prepare(a, charset)), Box::new(prepare(b, charset)))
        }
        SearchKey::And(keys) => SearchKey::And(keys.iter().map(|k| prepare(k, charset)).collect()),
        other => other.clone(),
    }
}

fn contains(haystack: &str, needle: &[u8]) -> bool {
    needle.is_empty() || memchr::memmem::find(haystack.to_lowercase().as_bytes(), needle).is_some()
}

/// True when an address field named `name` contains `needle` in one of its
/// addresses as a reader sees it (`Name <local@domain>`, comments, routes
/// and folding gone), as Dovecot and c-client match them.
fn address_has(ctx: &SearchContext<'_, '_>, name: &str, needle: &[u8]) -> bool {
    let fallback = ctx.message.header_fallback();
    ctx.message.root.header.get_all(name).any(|field| {
        let list = sansmail_mime::parse_addresses(field.raw_value);
        if list.addresses.is_empty() {
            return contains(&field.text_with(fallback), needle);
        }
        list.addresses.iter().any(|a| match a {
            sansmail_mime::Address::Mailbox(m) => mailbox_has(m, needle),
            sansmail_mime::Address::Group { name, members } => {
                contains(name, needle) || members.iter().any(|m| mailbox_has(m, needle))
            }
        })
    })
}

fn mailbox_has(m: &sansmail_mime::Mailbox, needle: &[u8]) -> bool {
    let shown = match &m.name {
        Some(name) => format!("{name} <{}>", m.address),
        None => m.address.clone(),
    };
    contains(&shown, needle)
}

/// True when a field named `name` of the top-level header contains `needle`.
fn header_has(ctx: &SearchContext<'_, '_>, name: &str, needle: &[u8]) -> bool {
    let fallback = ctx.message.header_fallback();
    ctx.message
        .root
        .header
        .get_all(name)
        .any(|field| contains(&field.text_with(fallback), needle))
}

/// True when a text part's decoded body contains `needle`.
fn body_has(ctx: &SearchContext<'_, '_>, needle: &[u8]) -> bool {
    let mut found = false;
    ctx.message.for_each_part(|part, _| {
        if !found && matches!(part.body, Body::Leaf) && (part.is_text() || !part.content_type_given)
        {
            found = contains(&ctx.message.body_text(part).text, needle);
        }
    });
    found
}

fn date_of(dt: &crate::types::DateTime) -> Date {
    dt.date()
}

fn sent_date(ctx: &SearchContext<'_, '_>) -> Option<Date> {
    let d = ctx.message.root.header.date()?;
    Date::new(u16::try_from(d.year).ok()?, d.month, d.day).ok()
}

fn in_set(set: &SequenceSet, n: u32, largest: u32) -> bool {
    set.contains(n, largest)
}

fn has_flag(ctx: &SearchContext<'_, '_>, flag: &Flag) -> bool {
    ctx.meta.flags.contains(flag)
}

fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Cc(_)
        | SearchKey::Bcc(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..)
        | SearchKey::Body(_)
        | SearchKey::Text(_)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => true,
        SearchKey::Not(k) => needs_content(k),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::And(keys) => keys.iter().any(needs_content),
        _ => false,
    }
}

fn eval(key: &SearchKey, ctx: &SearchContext<'_, '_>) -> bool {
    let meta = ctx.meta;
    let internal = meta.internal_date.as_ref().map(date_of);
    let saved = meta.save_date.as_ref().map(date_of);
    let cmp = |d: Option<Date>, f: fn(&Date, &Date) -> bool, against: &Date| {
        d.is_some_and(|d| f(&d, against))
    };
    match key {
        SearchKey::All => true,
        SearchKey::Answered => has_flag(ctx, &Flag::Answered),
        SearchKey::Deleted => has_flag(ctx, &Flag::Deleted),
        SearchKey::Draft => has_flag(ctx, &Flag::Draft),
        SearchKey::Flagged => has_flag(ctx, &Flag::Flagged),
        SearchKey::Seen => has_flag(ctx, &Flag::Seen),
        SearchKey::Recent => has_flag(ctx, &Flag::Recent),
        SearchKey::New => has_flag(ctx, &Flag::Recent) && !has_flag(ctx, &Flag::Seen),
        SearchKey::Old => !has_flag(ctx, &Flag::Recent),
        SearchKey::Unanswered => !has_flag(ctx, &Flag::Answered),
        SearchKey::Undeleted => !has_flag(ctx, &Flag::Deleted),
        SearchKey::Undraft => !has_flag(ctx, &Flag::Draft),
        SearchKey::Unflagged => !has_flag(ctx, &Flag::Flagged),
        SearchKey::Unseen => !has_flag(ctx, &Flag::Seen),
        SearchKey::Keyword(k) => meta
            .flags
            .iter()
            .any(|f| matches!(f, Flag::Keyword(a) if a.eq_ignore_case(k.as_str()))),
        SearchKey::Unkeyword(k) => !meta
            .flags
            .iter()
            .any(|f| matches!(f, Flag::Keyword(a) if a.eq_ignore_case(k.as_str()))),
        SearchKey::Before(d) => cmp(internal, |a, b| a < b, d),
        SearchKey::On(d) => cmp(internal, |a, b| a == b, d),
        SearchKey::Since(d) => cmp(internal, |a, b| a >= b, d),
        SearchKey::SentBefore(d) => cmp(sent_date(ctx), |a, b| a < b, d),
        SearchKey::SentOn(d) => cmp(sent_date(ctx), |a, b| a == b, d),
        SearchKey::SentSince(d) => cmp(sent_date(ctx), |a, b| a >= b, d),
        // Without save dates, messages count as saved on their internal date (RFC 8514 §4.2 lets
        // servers use it); SAVEDATESUPPORTED tells the client which it is.
        SearchKey::SavedBefore(d) => cmp(saved.or(internal), |a, b| a < b, d),
        SearchKey::SavedOn(d) => cmp(saved.or(internal), |a, b| a == b, d),
        SearchKey::SavedSince(d) => cmp(saved.or(internal), |a, b| a >= b, d),
        SearchKey::SaveDateSupported => ctx.save_date_supported,
        SearchKey::Larger(n) => meta.size > *n,
        SearchKey::Smaller(n) => meta.size < *n,
        SearchKey::Older(s) => meta
            .internal_date
            .is_some_and(|d| ctx.now - d.unix() >= i64::from(*s)),
        SearchKey::Younger(s) => meta
            .internal_date
            .is_some_and(|d| ctx.now - d.unix() <= i64::from(*s)),
        SearchKey::Uid(set) => in_set(set, meta.uid.get(), ctx.largest_uid),
        SearchKey::SequenceSet(set) => in_set(set, ctx.seq.get(), ctx.exists),
        SearchKey::ModSeq { modseq, .. } => meta.modseq.is_some_and(|m| m >= *modseq),
        SearchKey::EmailId(id) => meta.email_id.as_ref() == Some(id),
        SearchKey::ThreadId(id) => meta.thread_id.as_ref() == Some(id),
        SearchKey::From(s) => address_has(ctx, "from", s),
        SearchKey::To(s) => address_has(ctx, "to", s),
        SearchKey::Cc(s) => address_has(ctx, "cc", s),
        SearchKey::Bcc(s) => address_has(ctx, "bcc", s),
        SearchKey::Subject(s) => header_has(ctx, "subject", s),
        SearchKey::Header(name, s) => match std::str::from_utf8(name) {
            Ok(name) => header_has(ctx, name, s),
            Err(_) => false,
        },
        SearchKey::Body(s) => body_has(ctx, s),
        SearchKey::Text(s) => {
            let fallback = ctx.message.header_fallback();
            ctx.message.root.header.fields().any(|f| {
                contains(&String::from_utf8_lossy(f.name), s) || contains(&f.text_with(fallback), s)
            }) || body_has(ctx, s)
        }
        SearchKey::Not(k) => !eval(k, ctx),
        SearchKey::Or(a, b) => eval(a, ctx) || eval(b, ctx),
        SearchKey::And(keys) => keys.iter().all(|k| eval(k, ctx)),
    }
}
