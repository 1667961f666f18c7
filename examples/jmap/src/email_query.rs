//! Which emails an Email/query selects and in what order (RFC 8621 §4.4):
//! every standard FilterCondition (mailboxes, keywords of the email and of
//! its thread, sizes, dates, addresses, subject, body, text, header fields)
//! under AND/OR/NOT, and every standard sort property, with ties kept in
//! arrival order.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use sansmail_mime::Message;
use sansmail_store::ThreadId;

use crate::MethodError;
use crate::email::content;
use crate::view::{AccountView, EmailView};

/// The sort properties answered, as the session object lists them.
pub(crate) const SORT_OPTIONS: &[&str] = &[
    "receivedAt",
    "size",
    "from",
    "to",
    "subject",
    "sentAt",
    "hasKeyword",
    "allInThreadHaveKeyword",
    "someInThreadHaveKeyword",
];

/// The whole result of an Email/query: the emails the filter selects, in
/// the sort's order, one per thread with `collapseThreads`.
pub(crate) async fn results(
    view: &AccountView,
    args: &Map<String, Value>,
) -> Result<Vec<String>, MethodError> {
    let query = Query::new(view);
    let mut found: Vec<&EmailView> = Vec::new();
    for email in &view.emails {
        let keep = match args.get("filter") {
            None | Some(Value::Null) => true,
            Some(filter) => query.matches(email, filter, &mut None).await?,
        };
        if keep {
            found.push(email);
        }
    }
    match args.get("sort") {
        None | Some(Value::Null) => {}
        Some(Value::Array(sort)) => found = query.sorted(found, sort).await?,
        Some(_) => return Err(MethodError::invalid("sort is a list of comparators")),
    }
    if args.get("collapseThreads").and_then(Value::as_bool) == Some(true) {
        let mut seen = HashSet::new();
        found.retain(|e| seen.insert(e.thread));
    }
    Ok(found.iter().map(|e| e.id.to_string()).collect())
}

/// One query over one account view, with each thread's members at hand.
struct Query<'v> {
    view: &'v AccountView,
    threads: HashMap<ThreadId, Vec<&'v EmailView>>,
    /// Each mailbox's id as text, by position (filters name them so).
    mailbox_ids: Vec<String>,
}

/// A sort property, with the keyword it asks about.
enum Property<'s> {
    ReceivedAt,
    Size,
    From,
    To,
    Subject,
    SentAt,
    HasKeyword(&'s str),
    AllInThreadHaveKeyword(&'s str),
    SomeInThreadHaveKeyword(&'s str),
}

/// One email's value under one comparator.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(i64),
    Text(String),
}

/// A keyword across a thread.
struct InThread {
    all: bool,
    some: bool,
}

/// What the sorts read from the message itself.
#[derive(Default)]
struct Fields {
    from: String,
    to: String,
    subject: String,
    sent_at: Option<i64>,
}

impl Fields {
    async fn read(view: &AccountView, email: &EmailView) -> Fields {
        let Some(raw) = content(view, email).await else {
            return Fields::default();
        };
        let message = Message::parse(&raw);
        let header = &message.root.header;
        // The first address's name, or its address when it has none.
        let first = |field: &str| {
            header
                .addresses(field)
                .and_then(|list| {
                    list.mailboxes().next().map(|m| {
                        m.name
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .unwrap_or(&m.address)
                            .to_lowercase()
                    })
                })
                .unwrap_or_default()
        };
        Fields {
            from: first("from"),
            to: first("to"),
            subject: sansmail_imap::message::base_subject(&message.subject().unwrap_or_default())
                .to_lowercase(),
            sent_at: header.date().map(|d| d.unix_time()),
        }
    }
}

impl<'v> Query<'v> {
    fn new(view: &'v AccountView) -> Query<'v> {
        let mut threads: HashMap<ThreadId, Vec<&EmailView>> = HashMap::new();
        for email in &view.emails {
            threads.entry(email.thread).or_default().push(email);
        }
        let mailbox_ids = view.mailboxes.iter().map(|m| m.id.to_string()).collect();
        Query {
            view,
            threads,
            mailbox_ids,
        }
    }

    /// Whether all, and whether some, of the emails in `email`'s thread
    /// (itself included) have `keyword`.
    fn in_thread(&self, email: &EmailView, keyword: &str) -> InThread {
        let members = self
            .threads
            .get(&email.thread)
            .map_or(&[][..], Vec::as_slice);
        InThread {
            all: members.iter().all(|e| e.has_keyword(keyword)),
            some: members.iter().any(|e| e.has_keyword(keyword)),
        }
    }

    /// Whether `email` (whose content is read only when a condition needs
    /// it, and then once) passes `filter` (a FilterCondition or
    /// FilterOperator).
    async fn matches(
        &self,
        email: &'v EmailView,
        filter: &Value,
        raw: &mut Option<Option<bytes::Bytes>>,
    ) -> Result<bool, MethodError> {
        let Some(filter) = filter.as_object() else {
            return Err(MethodError::new(
                "unsupportedFilter",
                "a filter is an object",
            ));
        };
        if let Some(operator) = filter.get("operator").and_then(Value::as_str) {
            let conditions = filter
                .get("conditions")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    MethodError::new("unsupportedFilter", "an operator needs conditions")
                })?;
            let mut results = Vec::new();
            for condition in conditions {
                results.push(Box::pin(self.matches(email, condition, raw)).await?);
            }
            return match operator {
                "AND" => Ok(results.iter().all(|r| *r)),
                "OR" => Ok(results.iter().any(|r| *r)),
                "NOT" => Ok(!results.iter().any(|r| *r)),
                other => Err(MethodError::new(
                    "unsupportedFilter",
                    format!("unknown operator {other}"),
                )),
            };
        }
        for (key, wanted) in filter {
            if !self.condition(email, key, wanted, raw).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether `email` passes the one condition `key: wanted`.
    async fn condition(
        &self,
        email: &'v EmailView,
        key: &str,
        wanted: &Value,
        raw: &mut Option<Option<bytes::Bytes>>,
    ) -> Result<bool, MethodError> {
        let view = self.view;
        let string = || {
            wanted
                .as_str()
                .ok_or_else(|| MethodError::invalid(format!("the filter {key} takes a string")))
        };
        let number = || {
            wanted
                .as_u64()
                .ok_or_else(|| MethodError::invalid(format!("the filter {key} takes a number")))
        };
        let date = || {
            crate::create::parse_utc(string()?)
                .ok_or_else(|| MethodError::invalid(format!("the filter {key} takes a UTCDate")))
        };
        Ok(match key {
            "inMailbox" => {
                let wanted = string()?;
                email
                    .places
                    .iter()
                    .any(|(p, _)| self.mailbox_ids[*p] == wanted)
            }
            "inMailboxOtherThan" => {
                let not: HashSet<&str> = wanted
                    .as_array()
                    .ok_or_else(|| MethodError::invalid("inMailboxOtherThan takes a list of ids"))?
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                email
                    .places
                    .iter()
                    .any(|(p, _)| !not.contains(self.mailbox_ids[*p].as_str()))
            }
            "hasKeyword" => email.has_keyword(string()?),
            "notKeyword" => !email.has_keyword(string()?),
            "allInThreadHaveKeyword" => self.in_thread(email, string()?).all,
            "someInThreadHaveKeyword" => self.in_thread(email, string()?).some,
            "noneInThreadHaveKeyword" => !self.in_thread(email, string()?).some,
            "minSize" => email.size >= number()?,
            "maxSize" => email.size < number()?,
            "before" => email.received < date()?,
            "after" => email.received >= date()?,
            "from" | "to" | "cc" | "bcc" | "subject" | "text" | "body" | "hasAttachment"
            | "header" => {
                if raw.is_none() {
                    *raw = Some(content(view, email).await);
                }
                let Some(Some(bytes)) = raw.as_ref() else {
                    return Ok(false);
                };
                content_condition(&Message::parse(bytes), key, wanted)?
            }
            other => {
                return Err(MethodError::new(
                    "unsupportedFilter",
                    format!("the filter {other} is not supported"),
                ));
            }
        })
    }

    /// `found` in the order of the comparators `sort`: each compares in its
    /// own direction, the next one breaking its ties; emails that tie on all
    /// keep arrival order (reversed when the first comparator descends).
    async fn sorted(
        &self,
        found: Vec<&'v EmailView>,
        sort: &[Value],
    ) -> Result<Vec<&'v EmailView>, MethodError> {
        let mut comparators = Vec::with_capacity(sort.len());
        for comparator in sort {
            let ascending = comparator
                .get("isAscending")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            comparators.push((property(comparator)?, ascending));
        }
        let reads_message = comparators.iter().any(|(p, _)| {
            matches!(
                p,
                Property::From | Property::To | Property::Subject | Property::SentAt
            )
        });
        let mut keys: Vec<Vec<Key>> = Vec::with_capacity(found.len());
        for email in &found {
            let fields = match reads_message {
                true => Fields::read(self.view, email).await,
                false => Fields::default(),
            };
            keys.push(
                comparators
                    .iter()
                    .map(|(property, _)| match property {
                        Property::ReceivedAt => Key::Number(email.received),
                        Property::Size => Key::Number(email.size as i64),
                        Property::From => Key::Text(fields.from.clone()),
                        Property::To => Key::Text(fields.to.clone()),
                        Property::Subject => Key::Text(fields.subject.clone()),
                        Property::SentAt => Key::Number(fields.sent_at.unwrap_or(i64::MIN)),
                        Property::HasKeyword(k) => Key::Number(email.has_keyword(k).into()),
                        Property::AllInThreadHaveKeyword(k) => {
                            Key::Number(self.in_thread(email, k).all.into())
                        }
                        Property::SomeInThreadHaveKeyword(k) => {
                            Key::Number(self.in_thread(email, k).some.into())
                        }
                    })
                    .collect(),
            );
        }
        let first_ascending = comparators.first().is_none_or(|(_, ascending)| *ascending);
        let mut order: Vec<usize> = (0..found.len()).collect();
        order.sort_by(|&a, &b| {
            let by_keys = comparators
                .iter()
                .enumerate()
                .map(|(i, (_, ascending))| {
                    let ordering = keys[a][i].cmp(&keys[b][i]);
                    if *ascending {
                        ordering
                    } else {
                        ordering.reverse()
                    }
                })
                .find(|ordering| ordering.is_ne());
            by_keys.unwrap_or_else(|| {
                let arrival = found[a].places[0].cmp(&found[b].places[0]);
                if first_ascending {
                    arrival
                } else {
                    arrival.reverse()
                }
            })
        });
        Ok(order.into_iter().map(|i| found[i]).collect())
    }
}

/// A comparator's property (RFC 8621 §4.4.2).
fn property(comparator: &Value) -> Result<Property<'_>, MethodError> {
    let keyword = || {
        comparator
            .get("keyword")
            .and_then(Value::as_str)
            .ok_or_else(|| MethodError::invalid("this sort needs a keyword"))
    };
    Ok(
        match comparator
            .get("property")
            .and_then(Value::as_str)
            .unwrap_or("")
        {
            "receivedAt" => Property::ReceivedAt,
            "size" => Property::Size,
            "from" => Property::From,
            "to" => Property::To,
            "subject" => Property::Subject,
            "sentAt" => Property::SentAt,
            "hasKeyword" => Property::HasKeyword(keyword()?),
            "allInThreadHaveKeyword" => Property::AllInThreadHaveKeyword(keyword()?),
            "someInThreadHaveKeyword" => Property::SomeInThreadHaveKeyword(keyword()?),
            other => {
                return Err(MethodError::new(
                    "unsupportedSort",
                    format!("sorting by {other} is not supported"),
                ));
            }
        },
    )
}

/// A condition on the message's header fields or body: `from`, `to`, `cc`,
/// `bcc`, `subject` (the field's text contains the string), `body` (a text
/// body part does), `text` (any of those), `hasAttachment`, and `header`
/// (`[name]`: the field is there; `[name, value]`: one such field
/// contains the value). Strings are compared without case.
fn content_condition(
    message: &Message<'_>,
    key: &str,
    wanted: &Value,
) -> Result<bool, MethodError> {
    let header = &message.root.header;
    if key == "hasAttachment" {
        let wanted = wanted
            .as_bool()
            .ok_or_else(|| MethodError::invalid("hasAttachment takes true or false"))?;
        let has = !message.body_view().attachments.is_empty();
        return Ok(has == wanted);
    }
    if key == "header" {
        let (name, value) = match wanted.as_array().map(Vec::as_slice) {
            Some([Value::String(name)]) => (name, None),
            Some([Value::String(name), Value::String(value)]) => (name, Some(value.to_lowercase())),
            _ => return Err(MethodError::invalid("header takes [name] or [name, value]")),
        };
        return Ok(header.get_all(name).any(|field| {
            value
                .as_deref()
                .is_none_or(|value| field.text().trim().to_lowercase().contains(value))
        }));
    }
    let needle = wanted
        .as_str()
        .ok_or_else(|| MethodError::invalid(format!("the filter {key} takes a string")))?
        .to_lowercase();
    let header_has = |field: &str| {
        header
            .get_all(field)
            .any(|f| f.text().to_lowercase().contains(&needle))
    };
    let body_has = || {
        message.body_view().text_body.iter().any(|(_, part)| {
            message
                .body_text(part)
                .text
                .to_lowercase()
                .contains(&needle)
        })
    };
    Ok(match key {
        "body" => body_has(),
        "text" => {
            ["from", "to", "cc", "bcc", "subject"]
                .iter()
                .any(|f| header_has(f))
                || body_has()
        }
        field => header_has(field),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Message<'_> {
        Message::parse(raw.as_bytes())
    }

    #[test]
    fn a_header_condition_names_a_field_and_may_ask_for_a_value() {
        let message = parse("X-Ticket: ABC-42\r\nSubject: hi\r\n\r\nbody\r\n");
        let check = |wanted: Value| content_condition(&message, "header", &wanted);
        assert!(check(serde_json::json!(["x-ticket"])).unwrap());
        assert!(check(serde_json::json!(["X-Ticket", "abc-4"])).unwrap());
        assert!(!check(serde_json::json!(["X-Ticket", "xyz"])).unwrap());
        assert!(!check(serde_json::json!(["List-Id"])).unwrap());
        assert!(check(serde_json::json!([])).is_err());
        assert!(check(serde_json::json!(["a", "b", "c"])).is_err());
    }

    #[test]
    fn every_address_field_of_the_name_is_searched() {
        let message = parse("To: a@x.example\r\nTo: Bob <bob@y.example>\r\n\r\n");
        assert!(content_condition(&message, "to", &Value::from("BOB@Y")).unwrap());
        assert!(!content_condition(&message, "cc", &Value::from("bob")).unwrap());
        assert!(content_condition(&message, "to", &Value::from(3)).is_err());
    }

    #[test]
    fn a_sort_property_needs_its_keyword_and_a_known_name() {
        assert!(property(&serde_json::json!({"property": "hasKeyword"})).is_err());
        assert!(matches!(
            property(&serde_json::json!({"property": "hasKeyword", "keyword": "$flagged"})),
            Ok(Property::HasKeyword("$flagged"))
        ));
        let colour = serde_json::json!({"property": "colour"});
        assert!(matches!(property(&colour), Err(e) if e.kind == "unsupportedSort"));
    }
}
