//! The SASL mechanisms mail servers meet: PLAIN (RFC 4616), LOGIN, XOAUTH2
//! and OAUTHBEARER (RFC 7628). Sessions decode them; applications verify.

mod mechanism;
pub mod server;

pub use mechanism::Mechanism;

pub use crate::Secret;

/// Credentials a client presented, decoded; the application checks them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// PLAIN: `[authzid] NUL authcid NUL password`.
    Plain {
        /// The identity to act as, when different from `authcid`.
        authzid: Option<String>,
        /// The identity whose password this is.
        authcid: String,
        /// The password.
        password: Secret<String>,
    },
    /// LOGIN: user name and password in two steps.
    Login {
        /// The user name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// XOAUTH2: `user=U ^A auth=Bearer T ^A ^A`.
    XOAuth2 {
        /// The user.
        user: String,
        /// The bearer token.
        token: Secret<String>,
    },
    /// OAUTHBEARER (RFC 7628): a GS2 header with an optional authzid, then key/value pairs.
    OAuthBearer {
        /// The `a=` authorization identity, when given.
        user: Option<String>,
        /// The bearer token.
        token: Secret<String>,
    },
}

impl Credentials {
    /// The identity to log in as (authzid when given, else the user name).
    pub fn identity(&self) -> Option<&str> {
        match self {
            Credentials::Plain {
                authzid, authcid, ..
            } => Some(authzid.as_deref().unwrap_or(authcid)),
            Credentials::Login { username, .. } => Some(username),
            Credentials::XOAuth2 { user, .. } => Some(user),
            Credentials::OAuthBearer { user, .. } => user.as_deref(),
        }
    }

    /// The user whose secret was presented.
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Plain { authcid, .. } => Some(authcid),
            Credentials::Login { username, .. } => Some(username),
            Credentials::XOAuth2 { user, .. } => Some(user),
            Credentials::OAuthBearer { user, .. } => user.as_deref(),
        }
    }

    /// The password, for the password mechanisms.
    pub fn password(&self) -> Option<&str> {
        match self {
            Credentials::Plain { password, .. } | Credentials::Login { password, .. } => {
                Some(password.expose())
            }
            _ => None,
        }
    }
}

/// Why a SASL message could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {0} response")]
pub struct SaslError(pub &'static str);

fn utf8(bytes: &[u8], mech: &'static str) -> Result<String, SaslError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| SaslError(mech))
}

/// Decodes a PLAIN message (RFC 4616 §2).
pub fn decode_plain(msg: &[u8]) -> Result<Credentials, SaslError> {
    let err = SaslError("PLAIN");
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(err);
    }
    Ok(Credentials::Plain {
        authzid: (!authzid.is_empty())
            .then(|| utf8(authzid, "PLAIN"))
            .transpose()?,
        authcid: utf8(authcid, "PLAIN")?,
        password: Secret::new(utf8(password, "PLAIN")?),
    })
}

/// Encodes a PLAIN message.
pub fn encode_plain(authzid: Option<&str>, authcid: &str, password: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(authcid.len() + password.len() + 2);
    out.extend_from_slice(authzid.unwrap_or_default().as_bytes());
    out.push(0);
    out.extend_from_slice(authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(password.as_bytes());
    out
}

/// Decodes an XOAUTH2 message.
pub fn decode_xoauth2(msg: &[u8]) -> Result<Credentials, SaslError> {
    let err = SaslError("XOAUTH2");
    let text = std::str::from_utf8(msg).map_err(|_| err)?;
    let text = text.strip_suffix("\x01\x01").ok_or(err)?;
    let mut user = None;
    let mut token = None;
    for field in text.split('\x01') {
        if let Some(u) = field.strip_prefix("user=") {
            user = Some(u.to_owned());
        } else if let Some(t) = field.strip_prefix("auth=") {
            let t = t.strip_prefix("Bearer ").ok_or(err)?;
            token = Some(Secret::new(t.to_owned()));
        }
    }
    match (user, token) {
        (Some(user), Some(token)) if !user.is_empty() => Ok(Credentials::XOAuth2 { user, token }),
        _ => Err(err),
    }
}

/// Encodes an XOAUTH2 message.
pub fn encode_xoauth2(user: &str, token: &str) -> Vec<u8> {
    format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
}

/// Decodes an OAUTHBEARER message (RFC 7628 §3.1).
pub fn decode_oauthbearer(msg: &[u8]) -> Result<Credentials, SaslError> {
    let err = SaslError("OAUTHBEARER");
    let text = std::str::from_utf8(msg).map_err(|_| err)?;
    // gs2-header: "n,a=user," or "n,," ("y" and "p" flags too), then kvpairs.
    let (flag, rest) = text.split_once(',').ok_or(err)?;
    if !matches!(flag, "n" | "y") {
        return Err(err);
    }
    let (authz, rest) = rest.split_once(',').ok_or(err)?;
    let user = match authz {
        "" => None,
        a => Some(
            a.strip_prefix("a=")
                .ok_or(err)?
                .replace("=2C", ",")
                .replace("=3D", "="),
        ),
    };
    let rest = rest.strip_prefix('\x01').ok_or(err)?;
    let rest = rest.strip_suffix("\x01\x01").ok_or(err)?;
    let token = rest
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth="))
        .and_then(|a| a.strip_prefix("Bearer "))
        .ok_or(err)?;
    Ok(Credentials::OAuthBearer {
        user,
        token: Secret::new(token.to_owned()),
    })
}

/// Encodes an OAUTHBEARER message.
pub fn encode_oauthbearer(user: &str, token: &str) -> Vec<u8> {
    let user = user.replace('=', "=3D").replace(',', "=2C");
    format!("n,a={user},\x01auth=Bearer {token}\x01\x01").into_bytes()
}

/// The mechanisms a server session decodes itself.
pub fn is_supported(mech: &Mechanism) -> bool {
    matches!(
        mech,
        Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let c = decode_plain(b"\0user\0pass").unwrap();
        assert_eq!(c.username(), Some("user"));
        assert_eq!(c.password(), Some("pass"));
        assert_eq!(c.identity(), Some("user"));
        let c = decode_plain(b"admin\0user\0pass").unwrap();
        assert_eq!(c.identity(), Some("admin"));
        assert!(decode_plain(b"\0user").is_err());
        assert!(decode_plain(b"\0\0pass").is_err());
        assert!(decode_plain(b"a\0b\0c\0d").is_err());
        assert_eq!(
            decode_plain(&encode_plain(None, "u", "p")).unwrap(),
            decode_plain(b"\0u\0p").unwrap()
        );
    }

    #[test]
    fn bearer_tokens() {
        let c = decode_xoauth2(&encode_xoauth2("me@example.com", "tok")).unwrap();
        assert_eq!(
            c,
            Credentials::XOAuth2 {
                user: "me@example.com".into(),
                token: Secret::new("tok".into())
            }
        );
        let c = decode_oauthbearer(&encode_oauthbearer("a,b=c", "tok")).unwrap();
        assert_eq!(c.identity(), Some("a,b=c"));
        let c = decode_oauthbearer(b"n,,\x01host=x\x01auth=Bearer t\x01\x01").unwrap();
        assert_eq!(c.identity(), None);
        assert!(decode_oauthbearer(b"n,,auth=Bearer t").is_err());
        assert!(decode_xoauth2(b"user=a\x01\x01").is_err());
    }
}
