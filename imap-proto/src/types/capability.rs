//! Capability names (CAPABILITY responses, ENABLE).

use super::Str;

use super::Atom;

/// A capability. Names are matched ignoring case; [`Capability::Other`]
/// holds only names not listed here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `IMAP4rev1` (RFC 3501).
    Imap4rev1,
    /// `IMAP4rev2` (RFC 9051).
    Imap4rev2,
    /// `AUTH=<mechanism>`.
    Auth(Atom),
    /// `LOGINDISABLED`.
    LoginDisabled,
    /// `STARTTLS`.
    StartTls,
    /// `IDLE` (RFC 2177).
    Idle,
    /// `UIDPLUS` (RFC 4315).
    UidPlus,
    /// `MOVE` (RFC 6851).
    Move,
    /// `CONDSTORE` (RFC 7162).
    CondStore,
    /// `QRESYNC` (RFC 7162).
    QResync,
    /// `ESEARCH` (RFC 4731).
    ESearch,
    /// `SEARCHRES` (RFC 5182).
    SearchRes,
    /// `LIST-EXTENDED` (RFC 5258).
    ListExtended,
    /// `LIST-STATUS` (RFC 5819).
    ListStatus,
    /// `SPECIAL-USE` (RFC 6154).
    SpecialUse,
    /// `CREATE-SPECIAL-USE` (RFC 6154).
    CreateSpecialUse,
    /// `CHILDREN` (RFC 3348).
    Children,
    /// `BINARY` (RFC 3516).
    Binary,
    /// `MULTIAPPEND` (RFC 3502).
    MultiAppend,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `ID` (RFC 2971).
    Id,
    /// `ENABLE` (RFC 5161).
    Enable,
    /// `UTF8=ACCEPT` (RFC 6855).
    Utf8Accept,
    /// `SASL-IR` (RFC 4959).
    SaslIr,
    /// `COMPRESS=<algorithm>` (RFC 4978).
    Compress(Atom),
    /// `QUOTA` (RFC 9208).
    Quota,
    /// `QUOTA=RES-<resource>` (RFC 9208).
    QuotaResource(Atom),
    /// `APPENDLIMIT` or `APPENDLIMIT=<n>` (RFC 7889).
    AppendLimit(Option<u64>),
    /// `STATUS=SIZE` (RFC 8438).
    StatusSize,
    /// `OBJECTID` (RFC 8474).
    ObjectId,
    /// `SAVEDATE` (RFC 8514).
    SaveDate,
    /// `SORT` (RFC 5256).
    Sort,
    /// `THREAD=<algorithm>` (RFC 5256).
    Thread(Atom),
    /// `LITERAL+` (RFC 7888).
    LiteralPlus,
    /// `LITERAL-` (RFC 7888).
    LiteralMinus,
    /// Any other capability.
    Other(Atom),
}

const SIMPLE: [(&str, Capability); 32] = [
    ("IMAP4rev1", Capability::Imap4rev1),
    ("IMAP4rev2", Capability::Imap4rev2),
    ("LOGINDISABLED", Capability::LoginDisabled),
    ("STARTTLS", Capability::StartTls),
    ("IDLE", Capability::Idle),
    ("UIDPLUS", Capability::UidPlus),
    ("MOVE", Capability::Move),
    ("CONDSTORE", Capability::CondStore),
    ("QRESYNC", Capability::QResync),
    ("ESEARCH", Capability::ESearch),
    ("SEARCHRES", Capability::SearchRes),
    ("LIST-EXTENDED", Capability::ListExtended),
    ("LIST-STATUS", Capability::ListStatus),
    ("SPECIAL-USE", Capability::SpecialUse),
    ("CREATE-SPECIAL-USE", Capability::CreateSpecialUse),
    ("CHILDREN", Capability::Children),
    ("BINARY", Capability::Binary),
    ("MULTIAPPEND", Capability::MultiAppend),
    ("UNSELECT", Capability::Unselect),
    ("NAMESPACE", Capability::Namespace),
    ("ID", Capability::Id),
    ("ENABLE", Capability::Enable),
    ("UTF8=ACCEPT", Capability::Utf8Accept),
    ("SASL-IR", Capability::SaslIr),
    ("QUOTA", Capability::Quota),
    ("STATUS=SIZE", Capability::StatusSize),
    ("OBJECTID", Capability::ObjectId),
    ("SAVEDATE", Capability::SaveDate),
    ("SORT", Capability::Sort),
    ("LITERAL+", Capability::LiteralPlus),
    ("LITERAL-", Capability::LiteralMinus),
    ("APPENDLIMIT", Capability::AppendLimit(None)),
];

const PREFIXED: [&str; 4] = ["AUTH=", "COMPRESS=", "QUOTA=RES-", "THREAD="];

impl Capability {
    /// Reads a capability from its name.
    pub fn from_atom(atom: Atom) -> Capability {
        let name = atom.as_bytes();
        if let Some((_, cap)) = SIMPLE.iter().find(|(n, _)| atom.eq_ignore_case(n)) {
            return cap.clone();
        }
        for (i, prefix) in PREFIXED.iter().enumerate() {
            if name.len() > prefix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            {
                let rest = Atom::from_valid(atom.0.slice(prefix.len()..));
                return match i {
                    0 => Capability::Auth(rest),
                    1 => Capability::Compress(rest),
                    2 => Capability::QuotaResource(rest),
                    _ => Capability::Thread(rest),
                };
            }
        }
        let limit = b"APPENDLIMIT=";
        if name.len() > limit.len() && name[..limit.len()].eq_ignore_ascii_case(limit) {
            let digits = &name[limit.len()..];
            let number = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok());
            if let (true, Some(n)) = (digits.iter().all(u8::is_ascii_digit), number) {
                return Capability::AppendLimit(Some(n));
            }
        }
        Capability::Other(atom)
    }

    /// The capability's name on the wire.
    pub fn to_atom(&self) -> Atom {
        let with = |prefix: &str, a: &Atom| {
            let mut v = Vec::with_capacity(prefix.len() + a.as_bytes().len());
            v.extend_from_slice(prefix.as_bytes());
            v.extend_from_slice(a.as_bytes());
            Atom::from_valid(Str::from(v))
        };
        match self {
            Capability::Auth(a) => with("AUTH=", a),
            Capability::Compress(a) => with("COMPRESS=", a),
            Capability::QuotaResource(a) => with("QUOTA=RES-", a),
            Capability::Thread(a) => with("THREAD=", a),
            Capability::AppendLimit(Some(n)) => {
                Atom::from_valid(Str::from(format!("APPENDLIMIT={n}")))
            }
            Capability::Other(a) => a.clone(),
            simple => {
                let name = SIMPLE
                    .iter()
                    .find(|(_, c)| c == simple)
                    .map_or("", |(n, _)| n);
                Atom::from_valid(Str::from_static(name.as_bytes()))
            }
        }
    }
}
