//! Property tests: every command and response the types can hold writes and
//! parses back to itself, and every proper prefix of it is `Incomplete`
//! (or a literal announcement), never a syntax error.

use std::num::NonZeroU32;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::Union;
use sansmail_imap::codec::{
    DecodeError, encode_command, parse_command, parse_response, write_command, write_response,
};
use sansmail_imap::types::*;

fn bytes_of(max: usize) -> impl Strategy<Value = Str> {
    // No NUL: plain strings cannot carry it. CR, LF and 8-bit force literals.
    prop_oneof![
        4 => proptest::string::string_regex(&format!("[a-zA-Z0-9 ._\"\\\\\\]*%()-]{{0,{max}}}")).unwrap().prop_map(Str::from),
        1 => proptest::collection::vec(1u8..=255, 0..max).prop_map(Str::from),
    ]
}

fn nul_free(max: usize) -> impl Strategy<Value = Str> {
    bytes_of(max)
}

fn any_octets(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn atom_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9$_.-]{1,8}"
}

fn atom() -> impl Strategy<Value = Atom> {
    atom_text().prop_map(|s| Atom::new(s).unwrap())
}

/// An atom no known name uses.
fn x_atom() -> impl Strategy<Value = Atom> {
    "X-[A-Z0-9]{1,6}".prop_map(|s| Atom::new(s).unwrap())
}

fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,6}".prop_map(|s| Tag::new(s).unwrap())
}

fn nz() -> impl Strategy<Value = NonZeroU32> {
    (1u32..=u32::MAX).prop_map(|n| NonZeroU32::new(n).unwrap())
}

fn small_nz() -> impl Strategy<Value = NonZeroU32> {
    (1u32..5000).prop_map(|n| NonZeroU32::new(n).unwrap())
}

fn n64() -> impl Strategy<Value = u64> {
    0..=i64::MAX as u64
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        Just(Mailbox::inbox()),
        nul_free(12).prop_filter_map("CR or LF", |b| Mailbox::new(b).ok()),
        "[a-zA-Zäöü日本 /.&-]{1,10}".prop_map(|s| Mailbox::from_name(&s).unwrap()),
    ]
}

fn text() -> impl Strategy<Value = Text> {
    "[A-Za-z][A-Za-z0-9 .,!?()]{0,20}".prop_map(|s| Text::new(s).unwrap())
}

fn seq_no() -> impl Strategy<Value = SeqNo> {
    prop_oneof![4 => small_nz().prop_map(SeqNo::Value), 1 => Just(SeqNo::Last)]
}

fn ranges(no: BoxedStrategy<SeqNo>) -> impl Strategy<Value = SequenceSet> {
    proptest::collection::vec((no.clone(), proptest::option::of(no)), 1..4).prop_map(|v| {
        SequenceSet::new(
            v.into_iter()
                .map(|(start, end)| SeqRange {
                    start,
                    end: end.unwrap_or(start),
                })
                .collect(),
        )
        .unwrap()
    })
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![6 => ranges(seq_no().boxed()), 1 => Just(SequenceSet::Saved)]
}

fn uid_set() -> impl Strategy<Value = SequenceSet> {
    ranges(small_nz().prop_map(SeqNo::Value).boxed())
}

fn date() -> impl Strategy<Value = Date> {
    (1u16..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..=60, -5999i16..=5999)
        .prop_map(|(d, h, m, s, o)| DateTime::new(d, h, m, s, o).unwrap())
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        Just(Flag::Recent),
        atom().prop_map(Flag::Keyword),
        x_atom().prop_map(Flag::Extension),
    ]
}

fn flags() -> impl Strategy<Value = Vec<Flag>> {
    proptest::collection::vec(flag(), 0..4)
}

fn capability() -> impl Strategy<Value = Capability> {
    let known = [
        "IMAP4rev1",
        "IMAP4rev2",
        "LOGINDISABLED",
        "STARTTLS",
        "IDLE",
        "UIDPLUS",
        "MOVE",
        "CONDSTORE",
        "QRESYNC",
        "ESEARCH",
        "SEARCHRES",
        "LIST-EXTENDED",
        "LIST-STATUS",
        "SPECIAL-USE",
        "CREATE-SPECIAL-USE",
        "CHILDREN",
        "BINARY",
        "MULTIAPPEND",
        "UNSELECT",
        "NAMESPACE",
        "ID",
        "ENABLE",
        "UTF8=ACCEPT",
        "SASL-IR",
        "QUOTA",
        "STATUS=SIZE",
        "OBJECTID",
        "SAVEDATE",
        "SORT",
        "LITERAL+",
        "LITERAL-",
        "APPENDLIMIT",
    ];
    prop_oneof![
        proptest::sample::select(known.to_vec())
            .prop_map(|n| Capability::from_atom(Atom::new(n).unwrap())),
        atom().prop_map(Capability::Auth),
        atom().prop_map(Capability::Compress),
        atom().prop_map(Capability::QuotaResource),
        atom().prop_map(Capability::Thread),
        any::<u64>().prop_map(|n| Capability::AppendLimit(Some(n))),
        x_atom().prop_map(Capability::Other),
    ]
}

fn mailbox_attr() -> impl Strategy<Value = MailboxAttr> {
    let known = [
        "Noinferiors",
        "Noselect",
        "Marked",
        "Unmarked",
        "NonExistent",
        "Subscribed",
        "Remote",
        "HasChildren",
        "HasNoChildren",
        "All",
        "Archive",
        "Drafts",
        "Flagged",
        "Junk",
        "Sent",
        "Trash",
        "Important",
    ];
    prop_oneof![
        proptest::sample::select(known.to_vec())
            .prop_map(|n| MailboxAttr::from_atom(Atom::new(n).unwrap())),
        x_atom().prop_map(MailboxAttr::Extension),
    ]
}

fn status_item() -> impl Strategy<Value = StatusItem> {
    proptest::sample::select(vec![
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::Recent,
        StatusItem::HighestModSeq,
        StatusItem::MailboxId,
        StatusItem::AppendLimit,
    ])
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    let s = || nul_free(10);
    let leaf = Union::new(vec![
        Just(SearchKey::All).boxed(),
        Just(SearchKey::Answered).boxed(),
        Just(SearchKey::Deleted).boxed(),
        Just(SearchKey::Draft).boxed(),
        Just(SearchKey::Flagged).boxed(),
        Just(SearchKey::New).boxed(),
        Just(SearchKey::Old).boxed(),
        Just(SearchKey::Recent).boxed(),
        Just(SearchKey::Seen).boxed(),
        Just(SearchKey::Unanswered).boxed(),
        Just(SearchKey::Undeleted).boxed(),
        Just(SearchKey::Undraft).boxed(),
        Just(SearchKey::Unflagged).boxed(),
        Just(SearchKey::Unseen).boxed(),
        Just(SearchKey::SaveDateSupported).boxed(),
        s().prop_map(SearchKey::Bcc).boxed(),
        s().prop_map(SearchKey::Body).boxed(),
        s().prop_map(SearchKey::Cc).boxed(),
        s().prop_map(SearchKey::From).boxed(),
        s().prop_map(SearchKey::Subject).boxed(),
        s().prop_map(SearchKey::Text).boxed(),
        s().prop_map(SearchKey::To).boxed(),
        (s(), s())
            .prop_map(|(a, b)| SearchKey::Header(a, b))
            .boxed(),
        atom().prop_map(SearchKey::Keyword).boxed(),
        atom().prop_map(SearchKey::Unkeyword).boxed(),
        date().prop_map(SearchKey::Before).boxed(),
        date().prop_map(SearchKey::On).boxed(),
        date().prop_map(SearchKey::Since).boxed(),
        date().prop_map(SearchKey::SentBefore).boxed(),
        date().prop_map(SearchKey::SentOn).boxed(),
        date().prop_map(SearchKey::SentSince).boxed(),
        date().prop_map(SearchKey::SavedBefore).boxed(),
        date().prop_map(SearchKey::SavedOn).boxed(),
        date().prop_map(SearchKey::SavedSince).boxed(),
        n64().prop_map(SearchKey::Larger).boxed(),
        n64().prop_map(SearchKey::Smaller).boxed(),
        nz().prop_map(|n| SearchKey::Older(n.get())).boxed(),
        nz().prop_map(|n| SearchKey::Younger(n.get())).boxed(),
        sequence_set().prop_map(SearchKey::Uid).boxed(),
        sequence_set().prop_map(SearchKey::SequenceSet).boxed(),
        atom().prop_map(SearchKey::EmailId).boxed(),
        atom().prop_map(SearchKey::ThreadId).boxed(),
        (
            proptest::option::of((
                "/flags/[a-z\\\\]{1,6}",
                proptest::sample::select(vec!["priv", "shared", "all"]),
            )),
            n64(),
        )
            .prop_map(|(entry, modseq)| SearchKey::ModSeq {
                entry: entry.map(|(n, k)| (Str::from(n), Atom::new(k).unwrap())),
                modseq,
            })
            .boxed(),
    ]);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 1..3).prop_map(SearchKey::And),
        ]
    })
}

fn search_keys() -> impl Strategy<Value = Vec<SearchKey>> {
    proptest::collection::vec(search_key(), 1..3)
}

fn part() -> impl Strategy<Value = Vec<NonZeroU32>> {
    proptest::collection::vec(small_nz(), 0..3)
}

fn section() -> impl Strategy<Value = Section> {
    let fields = || proptest::collection::vec(nul_free(8), 1..3);
    (
        part(),
        proptest::option::of(prop_oneof![
            Just(SectionText::Header),
            Just(SectionText::Text),
            Just(SectionText::Mime),
            fields().prop_map(SectionText::HeaderFields),
            fields().prop_map(SectionText::HeaderFieldsNot),
        ]),
    )
        .prop_map(|(part, text)| {
            // MIME names a part's own header: only with a part path.
            let text = match text {
                Some(SectionText::Mime) if part.is_empty() => Some(SectionText::Header),
                t => t,
            };
            Section { part, text }
        })
}

fn partial() -> impl Strategy<Value = Option<(u32, NonZeroU32)>> {
    proptest::option::of((any::<u32>(), nz()))
}

fn fetch_attr() -> impl Strategy<Value = FetchAttr> {
    prop_oneof![
        proptest::sample::select(vec![
            FetchAttr::Envelope,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822,
            FetchAttr::Rfc822Header,
            FetchAttr::Rfc822Size,
            FetchAttr::Rfc822Text,
            FetchAttr::Body,
            FetchAttr::BodyStructure,
            FetchAttr::Uid,
            FetchAttr::ModSeq,
            FetchAttr::EmailId,
            FetchAttr::ThreadId,
            FetchAttr::SaveDate,
        ]),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| FetchAttr::Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(|part| FetchAttr::BinarySize { part }),
    ]
}

fn command_body() -> impl Strategy<Value = CommandBody> {
    let s = || nul_free(12);
    let uid = any::<bool>;
    Union::new(vec![
        proptest::sample::select(vec![
            CommandBody::Capability,
            CommandBody::Noop,
            CommandBody::Logout,
            CommandBody::StartTls,
            CommandBody::Namespace,
            CommandBody::Idle,
            CommandBody::Check,
            CommandBody::Close,
            CommandBody::Unselect,
            CommandBody::Expunge { uids: None },
        ])
        .boxed(),
        proptest::option::of(proptest::collection::vec(
            (s(), proptest::option::of(s())),
            0..3,
        ))
        .prop_map(CommandBody::Id)
        .boxed(),
        (atom(), proptest::option::of("[A-Za-z0-9+/]{1,12}={0,2}|="))
            .prop_map(|(mechanism, initial)| CommandBody::Authenticate {
                mechanism,
                initial: initial.map(|i| Secret::new(Str::from(i))),
            })
            .boxed(),
        (s(), s())
            .prop_map(|(username, p)| CommandBody::Login {
                username,
                password: Secret::new(p),
            })
            .boxed(),
        proptest::collection::vec(capability(), 1..4)
            .prop_map(CommandBody::Enable)
            .boxed(),
        (
            any::<bool>(),
            mailbox(),
            any::<bool>(),
            proptest::option::of((
                nz(),
                1..=i64::MAX as u64,
                proptest::option::of(uid_set()),
                proptest::option::of((uid_set(), uid_set())),
            )),
        )
            .prop_map(|(examine, mailbox, condstore, q)| {
                let params = SelectParams {
                    condstore,
                    qresync: q.map(|(uid_validity, modseq, known_uids, seq_match)| {
                        Box::new(QResyncParams {
                            uid_validity,
                            modseq,
                            known_uids,
                            seq_match,
                        })
                    }),
                };
                if examine {
                    CommandBody::Examine { mailbox, params }
                } else {
                    CommandBody::Select { mailbox, params }
                }
            })
            .boxed(),
        (mailbox(), proptest::collection::vec(mailbox_attr(), 0..3))
            .prop_map(|(mailbox, special_use)| CommandBody::Create {
                mailbox,
                special_use,
            })
            .boxed(),
        mailbox().prop_map(CommandBody::Delete).boxed(),
        mailbox().prop_map(CommandBody::Subscribe).boxed(),
        mailbox().prop_map(CommandBody::Unsubscribe).boxed(),
        mailbox().prop_map(CommandBody::GetQuotaRoot).boxed(),
        (mailbox(), mailbox())
            .prop_map(|(from, to)| CommandBody::Rename { from, to })
            .boxed(),
        (
            proptest::collection::vec(
                proptest::sample::select(vec![
                    ListSelect::Subscribed,
                    ListSelect::Remote,
                    ListSelect::RecursiveMatch,
                    ListSelect::SpecialUse,
                ]),
                0..3,
            ),
            mailbox(),
            proptest::collection::vec(s(), 1..3),
            proptest::collection::vec(
                prop_oneof![
                    Just(ListReturn::Subscribed),
                    Just(ListReturn::Children),
                    Just(ListReturn::SpecialUse),
                    proptest::collection::vec(status_item(), 1..3).prop_map(ListReturn::Status),
                ],
                0..3,
            ),
        )
            .prop_map(
                |(selection, reference, patterns, returns)| CommandBody::List {
                    selection,
                    reference,
                    patterns,
                    returns,
                },
            )
            .boxed(),
        (mailbox(), s())
            .prop_map(|(reference, pattern)| CommandBody::Lsub { reference, pattern })
            .boxed(),
        (mailbox(), proptest::collection::vec(status_item(), 1..4))
            .prop_map(|(mailbox, items)| CommandBody::Status { mailbox, items })
            .boxed(),
        (
            mailbox(),
            proptest::collection::vec(
                (
                    flags(),
                    proptest::option::of(date_time()),
                    any_octets(40),
                    0u8..3,
                ),
                1..3,
            ),
        )
            .prop_map(|(mailbox, msgs)| CommandBody::Append {
                mailbox,
                messages: msgs
                    .into_iter()
                    .map(|(flags, date, data, form)| {
                        // Plain literals cannot hold NUL: those go as ~{n}.
                        let binary = form > 0 || data.contains(&0);
                        AppendMessage {
                            flags,
                            date,
                            data,
                            binary,
                            utf8: form == 2,
                        }
                    })
                    .collect(),
            })
            .boxed(),
        sequence_set()
            .prop_map(|s| CommandBody::Expunge { uids: Some(s) })
            .boxed(),
        (
            uid(),
            proptest::option::of(proptest::collection::vec(
                proptest::sample::select(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::All,
                    SearchReturn::Count,
                    SearchReturn::Save,
                ]),
                0..3,
            )),
            proptest::option::of(s()),
            search_keys(),
        )
            .prop_map(|(uid, returns, charset, keys)| CommandBody::Search {
                uid,
                returns,
                charset,
                keys,
            })
            .boxed(),
        (
            uid(),
            sequence_set(),
            prop_oneof![
                Just(FetchItems::All),
                Just(FetchItems::Fast),
                Just(FetchItems::Full),
                proptest::collection::vec(fetch_attr(), 1..4).prop_map(FetchItems::Attrs),
            ],
            proptest::option::of(1..=i64::MAX as u64),
            any::<bool>(),
        )
            .prop_map(
                |(uid, set, items, changed_since, vanished)| CommandBody::Fetch {
                    uid,
                    set,
                    items,
                    changed_since,
                    vanished,
                },
            )
            .boxed(),
        (
            uid(),
            sequence_set(),
            proptest::option::of(n64()),
            proptest::sample::select(vec![
                StoreAction::Replace,
                StoreAction::Add,
                StoreAction::Remove,
            ]),
            any::<bool>(),
            flags(),
        )
            .prop_map(
                |(uid, set, unchanged_since, action, silent, flags)| CommandBody::Store {
                    uid,
                    set,
                    unchanged_since,
                    action,
                    silent,
                    flags,
                },
            )
            .boxed(),
        (uid(), sequence_set(), mailbox(), any::<bool>())
            .prop_map(|(uid, set, mailbox, mv)| {
                if mv {
                    CommandBody::Move { uid, set, mailbox }
                } else {
                    CommandBody::Copy { uid, set, mailbox }
                }
            })
            .boxed(),
        (
            uid(),
            proptest::collection::vec(
                (
                    any::<bool>(),
                    proptest::sample::select(vec![
                        SortKey::Arrival,
                        SortKey::Cc,
                        SortKey::Date,
                        SortKey::From,
                        SortKey::Size,
                        SortKey::Subject,
                        SortKey::To,
                    ]),
                )
                    .prop_map(|(reverse, key)| SortCriterion { reverse, key }),
                1..3,
            ),
            s(),
            search_keys(),
        )
            .prop_map(|(uid, criteria, charset, keys)| CommandBody::Sort {
                uid,
                criteria,
                charset,
                keys,
            })
            .boxed(),
        (
            uid(),
            prop_oneof![
                Just(ThreadAlgorithm::OrderedSubject),
                Just(ThreadAlgorithm::References),
                x_atom().prop_map(ThreadAlgorithm::Other),
            ],
            s(),
            search_keys(),
        )
            .prop_map(|(uid, algorithm, charset, keys)| CommandBody::Thread {
                uid,
                algorithm,
                charset,
                keys,
            })
            .boxed(),
        s().prop_map(CommandBody::GetQuota).boxed(),
        (s(), proptest::collection::vec((atom(), n64()), 0..3))
            .prop_map(|(root, limits)| CommandBody::SetQuota { root, limits })
            .boxed(),
        atom().prop_map(CommandBody::Compress).boxed(),
    ])
}

fn command() -> impl Strategy<Value = Command> {
    (tag(), command_body()).prop_map(|(tag, body)| Command { tag, body })
}

fn code() -> impl Strategy<Value = Code> {
    let simple = vec![
        Code::Alert,
        Code::Parse,
        Code::ReadOnly,
        Code::ReadWrite,
        Code::TryCreate,
        Code::NoModSeq,
        Code::Closed,
        Code::UidNotSticky,
        Code::AlreadyExists,
        Code::AuthenticationFailed,
        Code::AuthorizationFailed,
        Code::Cannot,
        Code::ClientBug,
        Code::ContactAdmin,
        Code::Corruption,
        Code::Expired,
        Code::ExpungeIssued,
        Code::HasChildren,
        Code::InUse,
        Code::Limit,
        Code::NonExistent,
        Code::NoPerm,
        Code::OverQuota,
        Code::PrivacyRequired,
        Code::ServerBug,
        Code::Unavailable,
        Code::TooBig,
        Code::CompressionActive,
        Code::NotSaved,
        Code::UnknownCte,
        Code::UseAttr,
    ];
    Union::new(vec![
        proptest::sample::select(simple).boxed(),
        proptest::collection::vec(atom(), 0..3)
            .prop_map(Code::BadCharset)
            .boxed(),
        proptest::collection::vec(capability(), 1..4)
            .prop_map(Code::Capability)
            .boxed(),
        proptest::collection::vec(
            prop_oneof![
                flag().prop_map(PermanentFlag::Flag),
                Just(PermanentFlag::CreateKeywords)
            ],
            0..4,
        )
        .prop_map(Code::PermanentFlags)
        .boxed(),
        nz().prop_map(Code::UidNext).boxed(),
        nz().prop_map(Code::UidValidity).boxed(),
        nz().prop_map(Code::Unseen).boxed(),
        n64().prop_map(Code::HighestModSeq).boxed(),
        sequence_set().prop_map(Code::Modified).boxed(),
        (nz(), uid_set())
            .prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids })
            .boxed(),
        (nz(), uid_set(), uid_set())
            .prop_map(|(uid_validity, source, destination)| Code::CopyUid {
                uid_validity,
                source,
                destination,
            })
            .boxed(),
        atom().prop_map(Code::MailboxId).boxed(),
        (x_atom(), proptest::option::of("[a-z0-9 ()\\[]{1,10}"))
            .prop_map(|(a, t)| Code::Other(a, t.map(Str::from)))
            .boxed(),
    ])
}

fn status(kinds: Vec<StatusKind>) -> impl Strategy<Value = Status> {
    (
        proptest::sample::select(kinds),
        proptest::option::of(code()),
        text(),
    )
        .prop_map(|(kind, code, text)| Status { kind, code, text })
}

fn address() -> impl Strategy<Value = EnvelopeAddress> {
    let n = || proptest::option::of(nul_free(8));
    (n(), n(), n(), n()).prop_map(|(name, adl, mailbox, host)| EnvelopeAddress {
        name,
        adl,
        mailbox,
        host,
    })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let n = || proptest::option::of(nul_free(10));
    let list = || proptest::collection::vec(address(), 0..3);
    (
        (n(), n(), list(), list(), list()),
        (list(), list(), list(), n(), n()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn params() -> impl Strategy<Value = Vec<(Str, Str)>> {
    proptest::collection::vec((nul_free(6), nul_free(6)), 0..3)
}

fn extension_value() -> impl Strategy<Value = ExtensionValue> {
    let leaf = prop_oneof![
        proptest::option::of(nul_free(6)).prop_map(ExtensionValue::String),
        n64().prop_map(ExtensionValue::Number),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        proptest::collection::vec(inner, 1..3).prop_map(ExtensionValue::List)
    })
}

fn body_extension() -> impl Strategy<Value = BodyExtension> {
    (
        proptest::option::of(
            (nul_free(8), params()).prop_map(|(kind, params)| Disposition { kind, params }),
        ),
        proptest::collection::vec(nul_free(5), 0..3),
        proptest::option::of(nul_free(8)),
        proptest::collection::vec(extension_value(), 0..3),
    )
        .prop_map(|(disposition, language, location, extra)| BodyExtension {
            disposition,
            language,
            location,
            extra,
        })
}

fn basic_fields(
    media_type: &'static str,
    subtype: &'static str,
) -> impl Strategy<Value = BasicFields> {
    (
        params(),
        proptest::option::of(nul_free(8)),
        proptest::option::of(nul_free(8)),
        "[A-Z0-9-]{1,8}",
        any::<u32>(),
    )
        .prop_map(
            move |(params, id, description, encoding, size)| BasicFields {
                media_type: Str::from(media_type),
                subtype: Str::from(subtype),
                params,
                id,
                description,
                encoding: Str::from(encoding),
                size,
            },
        )
}

fn body_structure() -> impl Strategy<Value = BodyStructure> {
    let single_ext = || proptest::option::of((proptest::option::of(nul_free(8)), body_extension()));
    let leaf = prop_oneof![
        (basic_fields("IMAGE", "PNG"), single_ext()).prop_map(|(fields, extension)| {
            BodyStructure::Single {
                fields,
                kind: SinglePart::Basic,
                extension,
            }
        }),
        (basic_fields("TEXT", "PLAIN"), any::<u32>(), single_ext()).prop_map(
            |(fields, lines, extension)| {
                BodyStructure::Single {
                    fields,
                    kind: SinglePart::Text { lines },
                    extension,
                }
            }
        ),
    ];
    leaf.prop_recursive(3, 10, 3, move |inner| {
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 1..3),
                "[A-Z]{1,8}",
                proptest::option::of((params(), body_extension())),
            )
                .prop_map(|(parts, subtype, extension)| BodyStructure::Multipart {
                    parts,
                    subtype: Str::from(subtype),
                    extension,
                }),
            (
                basic_fields("MESSAGE", "RFC822"),
                envelope(),
                inner,
                any::<u32>(),
                proptest::option::of((proptest::option::of(nul_free(8)), body_extension())),
            )
                .prop_map(|(fields, envelope, body, lines, extension)| {
                    BodyStructure::Single {
                        fields,
                        kind: SinglePart::Message {
                            envelope: Box::new(envelope),
                            body: Box::new(body),
                            lines,
                        },
                        extension,
                    }
                }),
        ]
    })
}

fn fetch_value() -> impl Strategy<Value = FetchValue> {
    let data = || proptest::option::of(nul_free(20).prop_map(|s| s.to_bytes()));
    Union::new(vec![
        flags().prop_map(FetchValue::Flags).boxed(),
        envelope()
            .prop_map(|e| FetchValue::Envelope(Box::new(e)))
            .boxed(),
        date_time().prop_map(FetchValue::InternalDate).boxed(),
        data().prop_map(FetchValue::Rfc822).boxed(),
        data().prop_map(FetchValue::Rfc822Header).boxed(),
        data().prop_map(FetchValue::Rfc822Text).boxed(),
        n64().prop_map(FetchValue::Rfc822Size).boxed(),
        body_structure()
            .prop_map(|b| FetchValue::Body(Box::new(b.without_extensions())))
            .boxed(),
        body_structure()
            .prop_map(|b| FetchValue::BodyStructure(Box::new(b)))
            .boxed(),
        (section(), proptest::option::of(any::<u32>()), data())
            .prop_map(|(section, origin, data)| FetchValue::BodySection {
                section,
                origin,
                data,
            })
            .boxed(),
        (
            part(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any_octets(20)),
        )
            .prop_map(|(part, origin, data)| FetchValue::Binary { part, origin, data })
            .boxed(),
        (part(), n64())
            .prop_map(|(part, size)| FetchValue::BinarySize { part, size })
            .boxed(),
        nz().prop_map(FetchValue::Uid).boxed(),
        n64().prop_map(FetchValue::ModSeq).boxed(),
        atom().prop_map(FetchValue::EmailId).boxed(),
        proptest::option::of(atom())
            .prop_map(FetchValue::ThreadId)
            .boxed(),
        proptest::option::of(date_time())
            .prop_map(FetchValue::SaveDate)
            .boxed(),
    ])
}

fn thread() -> impl Strategy<Value = Thread> {
    let leaf = proptest::collection::vec(small_nz(), 1..3).prop_map(|members| Thread {
        members,
        children: Vec::new(),
    });
    leaf.prop_recursive(3, 10, 3, |inner| {
        (
            proptest::collection::vec(small_nz(), 0..3),
            proptest::collection::vec(inner, 2..4),
        )
            .prop_map(|(members, children)| Thread { members, children })
    })
}

fn list_item() -> impl Strategy<Value = ListItem> {
    (
        proptest::collection::vec(mailbox_attr(), 0..3),
        proptest::option::of(proptest::sample::select(vec!['/', '.', '\\', '"', 'ä'])),
        mailbox(),
        proptest::collection::vec(nul_free(6), 0..2),
        proptest::option::of(mailbox()),
    )
        .prop_map(
            |(attrs, delimiter, mailbox, child_info, old_name)| ListItem {
                attrs,
                delimiter,
                mailbox,
                child_info,
                old_name,
            },
        )
}

fn namespace_list() -> impl Strategy<Value = Vec<NamespaceDescr>> {
    proptest::collection::vec(
        (
            nul_free(6),
            proptest::option::of(proptest::sample::select(vec!['/', '.'])),
            proptest::collection::vec(
                (nul_free(5), proptest::collection::vec(nul_free(5), 1..3)),
                0..2,
            ),
        )
            .prop_map(|(prefix, delimiter, extensions)| NamespaceDescr {
                prefix,
                delimiter,
                extensions,
            }),
        0..3,
    )
}

fn status_value() -> impl Strategy<Value = StatusValue> {
    prop_oneof![
        any::<u32>().prop_map(StatusValue::Messages),
        nz().prop_map(StatusValue::UidNext),
        nz().prop_map(StatusValue::UidValidity),
        any::<u32>().prop_map(StatusValue::Unseen),
        any::<u32>().prop_map(StatusValue::Deleted),
        n64().prop_map(StatusValue::Size),
        any::<u32>().prop_map(StatusValue::Recent),
        n64().prop_map(StatusValue::HighestModSeq),
        atom().prop_map(StatusValue::MailboxId),
        proptest::option::of(n64()).prop_map(StatusValue::AppendLimit),
    ]
}

fn untagged() -> impl Strategy<Value = Untagged> {
    let ids = || proptest::collection::vec(nz(), 0..4);
    Union::new(vec![
        status(vec![
            StatusKind::Ok,
            StatusKind::No,
            StatusKind::Bad,
            StatusKind::PreAuth,
            StatusKind::Bye,
        ])
        .prop_map(Untagged::Status)
        .boxed(),
        proptest::collection::vec(capability(), 1..4)
            .prop_map(Untagged::Capability)
            .boxed(),
        proptest::collection::vec(capability(), 0..3)
            .prop_map(Untagged::Enabled)
            .boxed(),
        flags().prop_map(Untagged::Flags).boxed(),
        list_item().prop_map(Untagged::List).boxed(),
        list_item().prop_map(Untagged::Lsub).boxed(),
        (namespace_list(), namespace_list(), namespace_list())
            .prop_map(|(personal, other, shared)| {
                Untagged::Namespace(Namespace {
                    personal,
                    other,
                    shared,
                })
            })
            .boxed(),
        (mailbox(), proptest::collection::vec(status_value(), 0..4))
            .prop_map(|(mailbox, items)| Untagged::MailboxStatus { mailbox, items })
            .boxed(),
        (
            proptest::option::of(tag()),
            any::<bool>(),
            proptest::collection::vec(
                prop_oneof![
                    nz().prop_map(EsearchItem::Min),
                    nz().prop_map(EsearchItem::Max),
                    sequence_set().prop_map(EsearchItem::All),
                    any::<u32>().prop_map(EsearchItem::Count),
                    n64().prop_map(EsearchItem::ModSeq),
                ],
                0..4,
            ),
        )
            .prop_map(|(tag, uid, items)| Untagged::Esearch { tag, uid, items })
            .boxed(),
        (ids(), proptest::option::of(n64()))
            .prop_map(|(ids, modseq)| Untagged::Search { ids, modseq })
            .boxed(),
        (ids(), proptest::option::of(n64()))
            .prop_map(|(ids, modseq)| Untagged::Sort { ids, modseq })
            .boxed(),
        proptest::collection::vec(thread(), 0..3)
            .prop_map(Untagged::Thread)
            .boxed(),
        any::<u32>().prop_map(Untagged::Exists).boxed(),
        any::<u32>().prop_map(Untagged::Recent).boxed(),
        nz().prop_map(Untagged::Expunge).boxed(),
        (nz(), proptest::collection::vec(fetch_value(), 1..4))
            .prop_map(|(seq, items)| Untagged::Fetch { seq, items })
            .boxed(),
        (any::<bool>(), uid_set())
            .prop_map(|(earlier, uids)| Untagged::Vanished { earlier, uids })
            .boxed(),
        (
            nul_free(6),
            proptest::collection::vec((atom(), n64(), n64()), 1..3),
        )
            .prop_map(|(root, r)| Untagged::Quota {
                root,
                resources: r
                    .into_iter()
                    .map(|(name, usage, limit)| QuotaResource { name, usage, limit })
                    .collect(),
            })
            .boxed(),
        (mailbox(), proptest::collection::vec(nul_free(6), 0..3))
            .prop_map(|(mailbox, roots)| Untagged::QuotaRoot { mailbox, roots })
            .boxed(),
        proptest::option::of(proptest::collection::vec(
            (nul_free(6), proptest::option::of(nul_free(6))),
            0..3,
        ))
        .prop_map(Untagged::Id)
        .boxed(),
    ])
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        1 => (proptest::option::of(code()), text()).prop_map(|(code, text)| Response::Continue(Continue { code, text })),
        1 => (tag(), status(vec![StatusKind::Ok, StatusKind::No, StatusKind::Bad]))
            .prop_map(|(tag, status)| Response::Tagged(Tagged { tag, status })),
        4 => untagged().prop_map(Response::Untagged),
    ]
}

/// 512 cases, or `PROPTEST_CASES` when set.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn commands_round_trip(cmd in command()) {
        let mut out = Vec::new();
        write_command(&mut out, &cmd);
        let input = Bytes::from(out.clone());
        let (rest, parsed) = parse_command(&input).map_err(|e| {
            TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&out)))
        })?;
        prop_assert!(rest.is_empty());
        prop_assert_eq!(parsed, cmd.clone());
        // LITERAL+ writes the same value.
        let plus = encode_command(&cmd, true);
        prop_assert!(plus.waits.is_empty());
        let (_, parsed) = parse_command(&plus.bytes).unwrap();
        prop_assert_eq!(parsed, cmd);
    }

    #[test]
    fn command_prefixes_are_incomplete(cmd in command()) {
        let mut out = Vec::new();
        write_command(&mut out, &cmd);
        for cut in 0..out.len() {
            let input = Bytes::copy_from_slice(&out[..cut]);
            match parse_command(&input) {
                Err(DecodeError::Incomplete | DecodeError::Literal { .. }) => {}
                other => prop_assert!(false, "prefix {} of {:?}: {:?}", cut, String::from_utf8_lossy(&out), other),
            }
        }
    }

    #[test]
    fn responses_round_trip(resp in response()) {
        let mut out = Vec::new();
        write_response(&mut out, &resp);
        let input = Bytes::from(out.clone());
        let (rest, parsed) = parse_response(&input).map_err(|e| {
            TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&out)))
        })?;
        prop_assert!(rest.is_empty());
        prop_assert_eq!(parsed, resp);
    }

    #[test]
    fn response_prefixes_are_incomplete(resp in response()) {
        let mut out = Vec::new();
        write_response(&mut out, &resp);
        for cut in 0..out.len() {
            let input = Bytes::copy_from_slice(&out[..cut]);
            match parse_response(&input) {
                Err(DecodeError::Incomplete) => {}
                other => prop_assert!(false, "prefix {} of {:?}: {:?}", cut, String::from_utf8_lossy(&out), other),
            }
        }
    }

    #[test]
    fn modified_utf7_round_trips(name in "\\PC{0,12}") {
        let wire = encode_modified_utf7(&name);
        prop_assert!(wire.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(decode_modified_utf7(wire.as_bytes()), Some(name));
    }
}
