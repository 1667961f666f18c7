//! ESMTP parameters of MAIL and RCPT, from IANA's SMTP service extension registry.

use std::fmt::Write as _;

use super::chars::{Folded, KEYWORD, VALUE, XCHAR, all_in, fold, folded};
use super::{InvalidInput, Source, Store, Text};

/// The BODY parameter (RFC 6152, RFC 3030).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyType {
    /// `7BIT`
    SevenBit,
    /// `8BITMIME`
    EightBitMime,
    /// `BINARYMIME`: only with BDAT.
    BinaryMime,
}

/// DSN `RET` (RFC 3461 §4.3): what a bounce carries of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DsnReturn {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Headers,
}

/// DSN `NOTIFY` (RFC 3461 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `SUCCESS`
    pub success: bool,
    /// `FAILURE`
    pub failure: bool,
    /// `DELAY`
    pub delay: bool,
}

impl Notify {
    /// `NEVER`: no notification at all.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// True for `NEVER`.
    pub fn is_never(self) -> bool {
        self == Self::NEVER
    }
}

/// DELIVERBY mode (RFC 2852 §4): what to do when the deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: notify the sender and keep trying.
    Notify,
    /// `R`: return the message as failed.
    Return,
}

/// RRVS action (RFC 7293 §3.1) when the recipient mailbox changed owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RrvsAction {
    /// `R`: reject.
    Reject,
    /// `C`: continue, dropping the check.
    Continue,
}

/// A parameter of the MAIL command (`S` holds its text, as in [`Domain`](super::Domain)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailParameter<S = Text> {
    /// `SIZE=n` (RFC 1870): the sender's estimate of the message size.
    Size(u64),
    /// `BODY=` (RFC 6152, RFC 3030).
    Body(BodyType),
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `RET=` (RFC 3461).
    Ret(DsnReturn),
    /// `ENVID=` (RFC 3461), xtext-decoded.
    EnvId(S),
    /// `AUTH=` (RFC 4954 §5): the authenticated submitter, `None` for `<>`; xtext-decoded.
    Auth(Option<S>),
    /// `MT-PRIORITY=` (RFC 6710), −9 to 9.
    MtPriority(i8),
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `BY=time;mode[T]` (RFC 2852).
    By {
        /// Seconds relative to arrival; may be negative in R mode per the RFC's rules.
        seconds: i64,
        /// What happens when the time passes.
        mode: ByMode,
        /// `T`: trace the delivery.
        trace: bool,
    },
    /// `HOLDFOR=n` (RFC 4865): seconds to hold before delivery.
    HoldFor(u64),
    /// `HOLDUNTIL=` (RFC 4865): an RFC 3339 date-time, kept as written.
    HoldUntil(S),
    /// A parameter this crate has no type for, kept as received.
    Unknown {
        /// The keyword, as written.
        keyword: S,
        /// The value after `=`, if any.
        value: Option<S>,
    },
}

/// A parameter of the RCPT command (`S` holds its text, as in [`Domain`](super::Domain)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RcptParameter<S = Text> {
    /// `NOTIFY=` (RFC 3461).
    Notify(Notify),
    /// `ORCPT=type;address` (RFC 3461), the address xtext-decoded.
    Orcpt {
        /// The address type, usually `rfc822` or `utf-8`.
        addr_type: S,
        /// The original recipient.
        address: S,
    },
    /// `RRVS=date-time[;action]` (RFC 7293).
    Rrvs {
        /// The RFC 3339 date-time, kept as written.
        time: S,
        /// What to do on mismatch; `None` leaves the server's default.
        action: Option<RrvsAction>,
    },
    /// A parameter this crate has no type for, kept as received.
    Unknown {
        /// The keyword, as written.
        keyword: S,
        /// The value after `=`, if any.
        value: Option<S>,
    },
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`
pub(crate) fn is_keyword(k: &[u8]) -> bool {
    k.first().is_some_and(u8::is_ascii_alphanumeric) && all_in(&KEYWORD, k)
}

/// Decodes RFC 3461 xtext: `+HH` for any octet, printable ASCII other than `+` and `=` as itself.
pub fn xtext_decode(text: &[u8]) -> Result<String, InvalidInput> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => {
                let hex = text.get(i + 1..i + 3).ok_or(InvalidInput::Xtext)?;
                let hex = std::str::from_utf8(hex).map_err(|_| InvalidInput::Xtext)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(InvalidInput::Xtext);
                }
                out.push(u8::from_str_radix(hex, 16).map_err(|_| InvalidInput::Xtext)?);
                i += 3;
            }
            b @ 33..=126 if b != b'=' => {
                out.push(b);
                i += 1;
            }
            _ => return Err(InvalidInput::Xtext),
        }
    }
    String::from_utf8(out).map_err(|_| InvalidInput::Xtext)
}

/// Encodes `text` as RFC 3461 xtext.
pub fn xtext_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "+{b:02X}");
        }
    }
}

/// Decimal digits, at most `max_digits`, without sign.
pub(crate) fn number(v: &[u8], max_digits: usize) -> Result<u64, InvalidInput> {
    if v.is_empty() || v.len() > max_digits {
        return Err(InvalidInput::Parameter);
    }
    if v.len() <= 8 {
        return eight_digits(v).ok_or(InvalidInput::Parameter);
    }
    // One pass: each octet checked as a digit as it is added in.
    v.iter()
        .try_fold(0u64, |n, &d| {
            let digit = d.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n.checked_mul(10)?.checked_add(u64::from(digit))
        })
        .ok_or(InvalidInput::Parameter)
}

/// One to eight decimal digits read as one word: padded on the left
/// with zeros, checked together, then added up pairwise in three
/// multiplications instead of one per digit.
#[inline]
fn eight_digits(v: &[u8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut word = [b'0'; 8];
    word[8 - v.len()..].copy_from_slice(v);
    let x = u64::from_le_bytes(word);
    // Digits are 0x30..=0x39: the high nibble is 3 and adding 6 keeps it 3.
    let high = ONES * 0xf0;
    if x & high != ONES * 0x30 || (x + ONES * 6) & high != ONES * 0x30 {
        return None;
    }
    // The first digit is in the low byte: fold neighbours into two-digit,
    // then four-digit, then the eight-digit value.
    let x = x & (ONES * 0x0f);
    // (Each product keeps only the bits it needs: overflow is wanted.)
    let x = (x.wrapping_mul((10 << 8) + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let x = (x.wrapping_mul((100 << 16) + 1) >> 16) & 0x0000_ffff_0000_ffff;
    Some(x.wrapping_mul((10_000 << 32) + 1) >> 32)
}

/// A signed decimal: optional `+` or `-`, then digits.
fn signed(v: &[u8], max_digits: usize) -> Result<i64, InvalidInput> {
    let (negative, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let n = i64::try_from(number(digits, max_digits)?).map_err(|_| InvalidInput::Parameter)?;
    Ok(if negative { -n } else { n })
}

/// xtext as text: a part of the line when it has no `+HH` escapes.
fn xtext<'a, L: Store<'a>>(line: &L, raw: &'a [u8]) -> Result<L::Str, InvalidInput> {
    for &b in raw {
        if b == b'+' {
            return xtext_decode(raw).map(|decoded| line.owned(decoded));
        }
        if !XCHAR[usize::from(b)] {
            return Err(InvalidInput::Xtext);
        }
    }
    line.text(raw).ok_or(InvalidInput::Xtext)
}

fn text<'a, L: Store<'a>>(line: &L, v: &'a [u8]) -> Result<L::Str, InvalidInput> {
    line.text(v).ok_or(InvalidInput::Parameter)
}

/// Joins `keyword[=value]` into a line and gives where its parts are,
/// for the `&str` constructors; the keyword and value must be made of
/// the characters a command line allows them.
fn owned_line(
    keyword: &str,
    value: Option<&str>,
) -> Result<(Vec<u8>, usize, Option<usize>), InvalidInput> {
    let value_ok = value.is_none_or(|v| !v.is_empty() && all_in(&VALUE, v.as_bytes()));
    if !is_keyword(keyword.as_bytes()) || !value_ok {
        return Err(InvalidInput::Parameter);
    }
    let mut raw = keyword.as_bytes().to_vec();
    let value_at = value.map(|v| {
        raw.push(b'=');
        let at = raw.len();
        raw.extend_from_slice(v.as_bytes());
        at
    });
    Ok((raw, keyword.len(), value_at))
}

impl MailParameter {
    /// Parses `keyword[=value]` (the keyword is case-insensitive).
    pub fn parse(keyword: &str, value: Option<&str>) -> Result<Self, InvalidInput> {
        let (raw, k_end, v_at) = owned_line(keyword, value)?;
        let line = Source::borrowed(&raw);
        from_wire_mail(&line, &raw[..k_end], v_at.map(|at| &raw[at..]))
    }
}

/// Parses a MAIL parameter whose keyword and value are parts of `line`.
#[inline]
pub(crate) fn from_wire_mail<'a, L: Store<'a>>(
    line: &L,
    k: &'a [u8],
    value: Option<&'a [u8]>,
) -> Result<MailParameter<L::Str>, InvalidInput> {
    let need = || value.ok_or(InvalidInput::Parameter);
    let flag = |p: MailParameter<L::Str>| {
        if value.is_some() {
            Err(InvalidInput::Parameter)
        } else {
            Ok(p)
        }
    };
    const SIZE: Folded = fold(b"SIZE");
    const BODY: Folded = fold(b"BODY");
    const SMTPUTF8: Folded = fold(b"SMTPUTF8");
    const RET: Folded = fold(b"RET");
    const ENVID: Folded = fold(b"ENVID");
    const AUTH: Folded = fold(b"AUTH");
    const BY: Folded = fold(b"BY");
    const HOLDFOR: Folded = fold(b"HOLDFOR");
    const EIGHT_BIT_MIME: Folded = fold(b"8BITMIME");
    const SEVEN_BIT: Folded = fold(b"7BIT");
    const FULL: Folded = fold(b"FULL");
    const HDRS: Folded = fold(b"HDRS");
    // Names of eight octets or fewer are one comparison each; longer ones are compared as text.
    match folded(k) {
        Some(SIZE) => Ok(MailParameter::Size(number(need()?, 20)?)),
        Some(BODY) => {
            let v = need()?;
            match folded(v) {
                Some(EIGHT_BIT_MIME) => Ok(MailParameter::Body(BodyType::EightBitMime)),
                Some(SEVEN_BIT) => Ok(MailParameter::Body(BodyType::SevenBit)),
                _ if v.eq_ignore_ascii_case(b"BINARYMIME") => {
                    Ok(MailParameter::Body(BodyType::BinaryMime))
                }
                _ => Err(InvalidInput::Parameter),
            }
        }
        Some(SMTPUTF8) => flag(MailParameter::SmtpUtf8),
        Some(RET) => match folded(need()?) {
            Some(FULL) => Ok(MailParameter::Ret(DsnReturn::Full)),
            Some(HDRS) => Ok(MailParameter::Ret(DsnReturn::Headers)),
            _ => Err(InvalidInput::Parameter),
        },
        Some(ENVID) => {
            let id = xtext(line, need()?)?;
            if id.as_ref().is_empty() || id.as_ref().len() > 100 {
                return Err(InvalidInput::Parameter);
            }
            Ok(MailParameter::EnvId(id))
        }
        Some(AUTH) => match need()? {
            b"<>" => Ok(MailParameter::Auth(None)),
            v => Ok(MailParameter::Auth(Some(xtext(line, v)?))),
        },
        Some(BY) => {
            let v = need()?;
            let semi = v
                .iter()
                .position(|&b| b == b';')
                .ok_or(InvalidInput::Parameter)?;
            let seconds = signed(&v[..semi], 9)?;
            let (mode, trace) = match &v[semi + 1..] {
                [m] => (*m, false),
                [m, t] if t.eq_ignore_ascii_case(&b'T') => (*m, true),
                _ => return Err(InvalidInput::Parameter),
            };
            let mode = match mode.to_ascii_uppercase() {
                b'N' => ByMode::Notify,
                b'R' => ByMode::Return,
                _ => return Err(InvalidInput::Parameter),
            };
            Ok(MailParameter::By {
                seconds,
                mode,
                trace,
            })
        }
        Some(HOLDFOR) => Ok(MailParameter::HoldFor(number(need()?, 20)?)),
        None if k.eq_ignore_ascii_case(b"REQUIRETLS") => flag(MailParameter::RequireTls),
        None if k.eq_ignore_ascii_case(b"MT-PRIORITY") => {
            let n = signed(need()?, 1)?;
            Ok(MailParameter::MtPriority(n as i8))
        }
        None if k.eq_ignore_ascii_case(b"HOLDUNTIL") => {
            Ok(MailParameter::HoldUntil(text(line, need()?)?))
        }
        _ => Ok(MailParameter::Unknown {
            keyword: text(line, k)?,
            value: value.map(|v| text(line, v)).transpose()?,
        }),
    }
}

impl<S: AsRef<str>> MailParameter<S> {
    /// Appends ` KEYWORD[=value]` in canonical form.
    pub fn write(&self, out: &mut String) {
        out.push(' ');
        // Writing to a String cannot fail.
        let _ = match self {
            MailParameter::Size(n) => write!(out, "SIZE={n}"),
            MailParameter::Body(b) => write!(
                out,
                "BODY={}",
                match b {
                    BodyType::SevenBit => "7BIT",
                    BodyType::EightBitMime => "8BITMIME",
                    BodyType::BinaryMime => "BINARYMIME",
                }
            ),
            MailParameter::SmtpUtf8 => write!(out, "SMTPUTF8"),
            MailParameter::RequireTls => write!(out, "REQUIRETLS"),
            MailParameter::Ret(DsnReturn::Full) => write!(out, "RET=FULL"),
            MailParameter::Ret(DsnReturn::Headers) => write!(out, "RET=HDRS"),
            MailParameter::EnvId(id) => {
                out.push_str("ENVID=");
                xtext_encode(id.as_ref(), out);
                Ok(())
            }
            MailParameter::Auth(None) => write!(out, "AUTH=<>"),
            MailParameter::Auth(Some(who)) => {
                out.push_str("AUTH=");
                xtext_encode(who.as_ref(), out);
                Ok(())
            }
            MailParameter::MtPriority(n) => write!(out, "MT-PRIORITY={n}"),
            MailParameter::By {
                seconds,
                mode,
                trace,
            } => write!(
                out,
                "BY={seconds};{}{}",
                if *mode == ByMode::Notify { "N" } else { "R" },
                if *trace { "T" } else { "" }
            ),
            MailParameter::HoldFor(n) => write!(out, "HOLDFOR={n}"),
            MailParameter::HoldUntil(t) => write!(out, "HOLDUNTIL={}", t.as_ref()),
            MailParameter::Unknown { keyword, value } => {
                out.push_str(keyword.as_ref());
                if let Some(v) = value {
                    out.push('=');
                    out.push_str(v.as_ref());
                }
                Ok(())
            }
        };
    }
}

impl RcptParameter {
    /// Parses `keyword[=value]` (the keyword is case-insensitive).
    pub fn parse(keyword: &str, value: Option<&str>) -> Result<Self, InvalidInput> {
        let (raw, k_end, v_at) = owned_line(keyword, value)?;
        let line = Source::borrowed(&raw);
        from_wire_rcpt(&line, &raw[..k_end], v_at.map(|at| &raw[at..]))
    }
}

/// Parses a RCPT parameter whose keyword and value are parts of `line`.
#[inline]
pub(crate) fn from_wire_rcpt<'a, L: Store<'a>>(
    line: &L,
    k: &'a [u8],
    value: Option<&'a [u8]>,
) -> Result<RcptParameter<L::Str>, InvalidInput> {
    const NOTIFY: Folded = fold(b"NOTIFY");
    const ORCPT: Folded = fold(b"ORCPT");
    const RRVS: Folded = fold(b"RRVS");
    const NEVER: Folded = fold(b"NEVER");
    const SUCCESS: Folded = fold(b"SUCCESS");
    const FAILURE: Folded = fold(b"FAILURE");
    const DELAY: Folded = fold(b"DELAY");
    let need = || value.ok_or(InvalidInput::Parameter);
    let name = folded(k);
    if name == Some(NOTIFY) {
        let v = need()?;
        if folded(v) == Some(NEVER) {
            return Ok(RcptParameter::Notify(Notify::NEVER));
        }
        let mut n = Notify::default();
        for item in v.split(|&b| b == b',') {
            let flag = match folded(item) {
                Some(SUCCESS) => &mut n.success,
                Some(FAILURE) => &mut n.failure,
                Some(DELAY) => &mut n.delay,
                _ => return Err(InvalidInput::Parameter),
            };
            if std::mem::replace(flag, true) {
                return Err(InvalidInput::Parameter);
            }
        }
        Ok(RcptParameter::Notify(n))
    } else if name == Some(ORCPT) {
        let v = need()?;
        let semi = v
            .iter()
            .position(|&b| b == b';')
            .ok_or(InvalidInput::Parameter)?;
        let (addr_type, address) = (&v[..semi], &v[semi + 1..]);
        if !is_keyword(addr_type) || address.is_empty() {
            return Err(InvalidInput::Parameter);
        }
        Ok(RcptParameter::Orcpt {
            addr_type: text(line, addr_type)?,
            address: xtext(line, address)?,
        })
    } else if name == Some(RRVS) {
        let v = need()?;
        let (time, action) = match v.iter().position(|&b| b == b';') {
            None => (v, None),
            Some(semi) => match &v[semi + 1..] {
                b"R" | b"r" => (&v[..semi], Some(RrvsAction::Reject)),
                b"C" | b"c" => (&v[..semi], Some(RrvsAction::Continue)),
                _ => return Err(InvalidInput::Parameter),
            },
        };
        if time.is_empty() {
            return Err(InvalidInput::Parameter);
        }
        Ok(RcptParameter::Rrvs {
            time: text(line, time)?,
            action,
        })
    } else {
        Ok(RcptParameter::Unknown {
            keyword: text(line, k)?,
            value: value.map(|v| text(line, v)).transpose()?,
        })
    }
}

impl<S: AsRef<str>> RcptParameter<S> {
    /// Appends ` KEYWORD[=value]` in canonical form.
    pub fn write(&self, out: &mut String) {
        out.push(' ');
        match self {
            RcptParameter::Notify(n) if n.is_never() => out.push_str("NOTIFY=NEVER"),
            RcptParameter::Notify(n) => {
                out.push_str("NOTIFY=");
                let names = [
                    (n.success, "SUCCESS"),
                    (n.failure, "FAILURE"),
                    (n.delay, "DELAY"),
                ];
                let set: Vec<&str> = names
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, s)| *s)
                    .collect();
                out.push_str(&set.join(","));
            }
            RcptParameter::Orcpt { addr_type, address } => {
                out.push_str("ORCPT=");
                out.push_str(addr_type.as_ref());
                out.push(';');
                xtext_encode(address.as_ref(), out);
            }
            RcptParameter::Rrvs { time, action } => {
                out.push_str("RRVS=");
                out.push_str(time.as_ref());
                match action {
                    Some(RrvsAction::Reject) => out.push_str(";R"),
                    Some(RrvsAction::Continue) => out.push_str(";C"),
                    None => {}
                }
            }
            RcptParameter::Unknown { keyword, value } => {
                out.push_str(keyword.as_ref());
                if let Some(v) = value {
                    out.push('=');
                    out.push_str(v.as_ref());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode(b"a+2Bb+3Dc").unwrap(), "a+b=c");
        assert!(xtext_decode(b"a+2").is_err());
        assert!(xtext_decode(b"a=b").is_err());
        let mut s = String::new();
        xtext_encode("a+b=c d", &mut s);
        assert_eq!(s, "a+2Bb+3Dc+20d");
    }

    #[test]
    fn mail_params() {
        assert_eq!(
            MailParameter::parse("size", Some("1000")).unwrap(),
            MailParameter::Size(1000)
        );
        assert!(MailParameter::parse("SIZE", Some("-1")).is_err());
        assert!(MailParameter::parse("SIZE", None).is_err());
        assert!(MailParameter::parse("SMTPUTF8", Some("x")).is_err());
        assert_eq!(
            MailParameter::parse("BY", Some("120;RT")).unwrap(),
            MailParameter::By {
                seconds: 120,
                mode: ByMode::Return,
                trace: true
            }
        );
        assert_eq!(
            MailParameter::parse("MT-PRIORITY", Some("-3")).unwrap(),
            MailParameter::MtPriority(-3)
        );
        assert!(MailParameter::parse("MT-PRIORITY", Some("10")).is_err());
        assert_eq!(
            MailParameter::parse("AUTH", Some("<>")).unwrap(),
            MailParameter::Auth(None)
        );
        assert!(matches!(
            MailParameter::parse("X-FOO", Some("bar")).unwrap(),
            MailParameter::Unknown { .. }
        ));
    }

    #[test]
    fn rcpt_params() {
        assert_eq!(
            RcptParameter::parse("NOTIFY", Some("SUCCESS,DELAY")).unwrap(),
            RcptParameter::Notify(Notify {
                success: true,
                failure: false,
                delay: true
            })
        );
        assert!(RcptParameter::parse("NOTIFY", Some("SUCCESS,SUCCESS")).is_err());
        assert!(RcptParameter::parse("NOTIFY", Some("NEVER,SUCCESS")).is_err());
        assert_eq!(
            RcptParameter::parse("ORCPT", Some("rfc822;a+2Bb@example.com")).unwrap(),
            RcptParameter::Orcpt {
                addr_type: "rfc822".into(),
                address: "a+b@example.com".into()
            }
        );
    }

    proptest::proptest! {
        /// Numbers read as the standard library reads unsigned decimals,
        /// up to the digit limit and the 64-bit range.
        #[test]
        fn numbers_read_as_std_reads_them(
            digits in proptest::collection::vec(
                proptest::prop_oneof![9 => b'0'..=b'9', 1 => proptest::prelude::any::<u8>()],
                0..23,
            ),
            max in 1..21usize,
        ) {
            let expected = std::str::from_utf8(&digits)
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            proptest::prop_assert_eq!(number(&digits, max).ok(), expected);
        }
    }
}
