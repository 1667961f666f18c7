//! ESMTP parameters of MAIL and RCPT, from IANA's SMTP service extension registry.

use std::fmt::Write as _;

use super::InvalidInput;

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

/// A parameter of the MAIL command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailParameter {
    /// `SIZE=n` (RFC 1870): the sender's estimate of the message size.
    Size(u64),
    /// `BODY=` (RFC 6152, RFC 3030).
    Body(BodyType),
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `RET=` (RFC 3461).
    Ret(DsnReturn),
    /// `ENVID=` (RFC 3461), xtext-decoded.
    EnvId(String),
    /// `AUTH=` (RFC 4954 §5): the authenticated submitter, `None` for `<>`; xtext-decoded.
    Auth(Option<String>),
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
    HoldUntil(String),
    /// A parameter this crate has no type for, kept as received.
    Unknown {
        /// The keyword, as written.
        keyword: String,
        /// The value after `=`, if any.
        value: Option<String>,
    },
}

/// A parameter of the RCPT command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RcptParameter {
    /// `NOTIFY=` (RFC 3461).
    Notify(Notify),
    /// `ORCPT=type;address` (RFC 3461), the address xtext-decoded.
    Orcpt {
        /// The address type, usually `rfc822` or `utf-8`.
        addr_type: String,
        /// The original recipient.
        address: String,
    },
    /// `RRVS=date-time[;action]` (RFC 7293).
    Rrvs {
        /// The RFC 3339 date-time, kept as written.
        time: String,
        /// What to do on mismatch; `None` leaves the server's default.
        action: Option<RrvsAction>,
    },
    /// A parameter this crate has no type for, kept as received.
    Unknown {
        /// The keyword, as written.
        keyword: String,
        /// The value after `=`, if any.
        value: Option<String>,
    },
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`
pub(crate) fn is_keyword(k: &[u8]) -> bool {
    k.first().is_some_and(u8::is_ascii_alphanumeric)
        && k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `esmtp-value = 1*(%d33-60 / %d62-126)`, plus UTF-8 under SMTPUTF8.
pub(crate) fn is_value(v: &[u8]) -> bool {
    !v.is_empty()
        && std::str::from_utf8(v).is_ok()
        && v.iter().all(|&b| ((33..=126).contains(&b) && b != b'=') || b >= 0x80)
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

fn number<T: std::str::FromStr>(v: &str) -> Result<T, InvalidInput> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidInput::Parameter);
    }
    v.parse().map_err(|_| InvalidInput::Parameter)
}

impl MailParameter {
    /// Parses `keyword[=value]` (the keyword is case-insensitive).
    pub fn parse(keyword: &str, value: Option<&str>) -> Result<Self, InvalidInput> {
        let upper = keyword.to_ascii_uppercase();
        let need = || value.ok_or(InvalidInput::Parameter);
        let none = |p: MailParameter| {
            if value.is_some() {
                Err(InvalidInput::Parameter)
            } else {
                Ok(p)
            }
        };
        match upper.as_str() {
            "SIZE" => Ok(MailParameter::Size(number(need()?)?)),
            "BODY" => match need()?.to_ascii_uppercase().as_str() {
                "7BIT" => Ok(MailParameter::Body(BodyType::SevenBit)),
                "8BITMIME" => Ok(MailParameter::Body(BodyType::EightBitMime)),
                "BINARYMIME" => Ok(MailParameter::Body(BodyType::BinaryMime)),
                _ => Err(InvalidInput::Parameter),
            },
            "SMTPUTF8" => none(MailParameter::SmtpUtf8),
            "REQUIRETLS" => none(MailParameter::RequireTls),
            "RET" => match need()?.to_ascii_uppercase().as_str() {
                "FULL" => Ok(MailParameter::Ret(DsnReturn::Full)),
                "HDRS" => Ok(MailParameter::Ret(DsnReturn::Headers)),
                _ => Err(InvalidInput::Parameter),
            },
            "ENVID" => {
                let id = xtext_decode(need()?.as_bytes())?;
                if id.is_empty() || id.len() > 100 {
                    return Err(InvalidInput::Parameter);
                }
                Ok(MailParameter::EnvId(id))
            }
            "AUTH" => match need()? {
                "<>" => Ok(MailParameter::Auth(None)),
                v => Ok(MailParameter::Auth(Some(xtext_decode(v.as_bytes())?))),
            },
            "MT-PRIORITY" => {
                let v = need()?;
                let (neg, digits) = match v.as_bytes().first() {
                    Some(b'-') => (true, &v[1..]),
                    Some(b'+') => (false, &v[1..]),
                    _ => (false, v),
                };
                let n: i8 = number(digits)?;
                if n > 9 {
                    return Err(InvalidInput::Parameter);
                }
                Ok(MailParameter::MtPriority(if neg { -n } else { n }))
            }
            "BY" => {
                let (time, mode) = need()?.split_once(';').ok_or(InvalidInput::Parameter)?;
                let (neg, digits) = match time.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, time.strip_prefix('+').unwrap_or(time)),
                };
                if digits.len() > 9 {
                    return Err(InvalidInput::Parameter);
                }
                let seconds: i64 = number(digits)?;
                let mode_upper = mode.to_ascii_uppercase();
                let (mode, trace) = match mode_upper.as_str() {
                    "N" => (ByMode::Notify, false),
                    "R" => (ByMode::Return, false),
                    "NT" => (ByMode::Notify, true),
                    "RT" => (ByMode::Return, true),
                    _ => return Err(InvalidInput::Parameter),
                };
                Ok(MailParameter::By {
                    seconds: if neg { -seconds } else { seconds },
                    mode,
                    trace,
                })
            }
            "HOLDFOR" => Ok(MailParameter::HoldFor(number(need()?)?)),
            "HOLDUNTIL" => Ok(MailParameter::HoldUntil(need()?.to_owned())),
            _ => Ok(MailParameter::Unknown {
                keyword: keyword.to_owned(),
                value: value.map(str::to_owned),
            }),
        }
    }

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
                xtext_encode(id, out);
                Ok(())
            }
            MailParameter::Auth(None) => write!(out, "AUTH=<>"),
            MailParameter::Auth(Some(who)) => {
                out.push_str("AUTH=");
                xtext_encode(who, out);
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
            MailParameter::HoldUntil(t) => write!(out, "HOLDUNTIL={t}"),
            MailParameter::Unknown { keyword, value } => {
                out.push_str(keyword);
                if let Some(v) = value {
                    out.push('=');
                    out.push_str(v);
                }
                Ok(())
            }
        };
    }
}

impl RcptParameter {
    /// Parses `keyword[=value]` (the keyword is case-insensitive).
    pub fn parse(keyword: &str, value: Option<&str>) -> Result<Self, InvalidInput> {
        let need = || value.ok_or(InvalidInput::Parameter);
        match keyword.to_ascii_uppercase().as_str() {
            "NOTIFY" => {
                let v = need()?.to_ascii_uppercase();
                if v == "NEVER" {
                    return Ok(RcptParameter::Notify(Notify::NEVER));
                }
                let mut n = Notify::default();
                for item in v.split(',') {
                    let flag = match item {
                        "SUCCESS" => &mut n.success,
                        "FAILURE" => &mut n.failure,
                        "DELAY" => &mut n.delay,
                        _ => return Err(InvalidInput::Parameter),
                    };
                    if std::mem::replace(flag, true) {
                        return Err(InvalidInput::Parameter);
                    }
                }
                Ok(RcptParameter::Notify(n))
            }
            "ORCPT" => {
                let (addr_type, address) = need()?.split_once(';').ok_or(InvalidInput::Parameter)?;
                if !is_keyword(addr_type.as_bytes()) {
                    return Err(InvalidInput::Parameter);
                }
                Ok(RcptParameter::Orcpt {
                    addr_type: addr_type.to_owned(),
                    address: xtext_decode(address.as_bytes())?,
                })
            }
            "RRVS" => {
                let v = need()?;
                let (time, action) = match v.split_once(';') {
                    None => (v, None),
                    Some((t, "R" | "r")) => (t, Some(RrvsAction::Reject)),
                    Some((t, "C" | "c")) => (t, Some(RrvsAction::Continue)),
                    Some(_) => return Err(InvalidInput::Parameter),
                };
                if time.is_empty() {
                    return Err(InvalidInput::Parameter);
                }
                Ok(RcptParameter::Rrvs {
                    time: time.to_owned(),
                    action,
                })
            }
            _ => Ok(RcptParameter::Unknown {
                keyword: keyword.to_owned(),
                value: value.map(str::to_owned),
            }),
        }
    }

    /// Appends ` KEYWORD[=value]` in canonical form.
    pub fn write(&self, out: &mut String) {
        out.push(' ');
        match self {
            RcptParameter::Notify(n) if n.is_never() => out.push_str("NOTIFY=NEVER"),
            RcptParameter::Notify(n) => {
                out.push_str("NOTIFY=");
                let names = [(n.success, "SUCCESS"), (n.failure, "FAILURE"), (n.delay, "DELAY")];
                let set: Vec<&str> = names.iter().filter(|(on, _)| *on).map(|(_, s)| *s).collect();
                out.push_str(&set.join(","));
            }
            RcptParameter::Orcpt { addr_type, address } => {
                out.push_str("ORCPT=");
                out.push_str(addr_type);
                out.push(';');
                xtext_encode(address, out);
            }
            RcptParameter::Rrvs { time, action } => {
                out.push_str("RRVS=");
                out.push_str(time);
                match action {
                    Some(RrvsAction::Reject) => out.push_str(";R"),
                    Some(RrvsAction::Continue) => out.push_str(";C"),
                    None => {}
                }
            }
            RcptParameter::Unknown { keyword, value } => {
                out.push_str(keyword);
                if let Some(v) = value {
                    out.push('=');
                    out.push_str(v);
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
        assert_eq!(MailParameter::parse("size", Some("1000")).unwrap(), MailParameter::Size(1000));
        assert!(MailParameter::parse("SIZE", Some("-1")).is_err());
        assert!(MailParameter::parse("SIZE", None).is_err());
        assert!(MailParameter::parse("SMTPUTF8", Some("x")).is_err());
        assert_eq!(
            MailParameter::parse("BY", Some("120;RT")).unwrap(),
            MailParameter::By { seconds: 120, mode: ByMode::Return, trace: true }
        );
        assert_eq!(MailParameter::parse("MT-PRIORITY", Some("-3")).unwrap(), MailParameter::MtPriority(-3));
        assert!(MailParameter::parse("MT-PRIORITY", Some("10")).is_err());
        assert_eq!(MailParameter::parse("AUTH", Some("<>")).unwrap(), MailParameter::Auth(None));
        assert!(matches!(MailParameter::parse("X-FOO", Some("bar")).unwrap(), MailParameter::Unknown { .. }));
    }

    #[test]
    fn rcpt_params() {
        assert_eq!(
            RcptParameter::parse("NOTIFY", Some("SUCCESS,DELAY")).unwrap(),
            RcptParameter::Notify(Notify { success: true, failure: false, delay: true })
        );
        assert!(RcptParameter::parse("NOTIFY", Some("SUCCESS,SUCCESS")).is_err());
        assert!(RcptParameter::parse("NOTIFY", Some("NEVER,SUCCESS")).is_err());
        assert_eq!(
            RcptParameter::parse("ORCPT", Some("rfc822;a+2Bb@example.com")).unwrap(),
            RcptParameter::Orcpt { addr_type: "rfc822".into(), address: "a+b@example.com".into() }
        );
    }
}
