//! The filter step at the end of DATA: ClamAV's clamd (INSTREAM) and
//! SpamAssassin's spamd (SPAMC/1.5), each off unless configured. A filter
//! that cannot be asked gives a temporary failure, never a silent pass.

use std::time::Duration;

use sansmail_smtp::types::Reply;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::warn;

use super::config;

/// Messages larger than this are not given to spamd (as spamc does).
pub const SPAM_CHECK_MAX: usize = 512 * 1024;

/// What the filters decided.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Deliver, with these header fields added (CRLF-terminated, maybe none).
    Pass(String),
    /// Refuse with this reply.
    Reject(Reply),
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::text(code, status, text).expect("filter reply text is valid")
}

fn unavailable(which: &str) -> Verdict {
    Verdict::Reject(reply(
        451,
        (4, 7, 1),
        &format!("{which} unavailable, try again later"),
    ))
}

/// Runs the configured filters over `message`.
pub async fn check(settings: &config::Filter, message: &[u8]) -> Verdict {
    let limit = Duration::from_secs(settings.timeout_secs);
    if let Some(clamd) = &settings.clamd {
        match tokio::time::timeout(limit, scan_clamd(clamd, message)).await {
            Ok(Ok(ScanResult::Clean)) => tally("clamd", "clean"),
            Ok(Ok(ScanResult::Infected(name))) => {
                tally("clamd", "virus");
                let name: String = name
                    .chars()
                    .filter(|c| c.is_ascii_graphic() || *c == ' ')
                    .collect();
                return Verdict::Reject(reply(
                    554,
                    (5, 7, 1),
                    &format!("Message contains a virus ({name})"),
                ));
            }
            Ok(Ok(ScanResult::TooLarge)) => {
                tally("clamd", "too_large");
                return Verdict::Reject(reply(
                    552,
                    (5, 3, 4),
                    "Message too large for the virus scanner",
                ));
            }
            Ok(Err(e)) => {
                warn!(error = %e, "clamd failed");
                tally("clamd", "unavailable");
                return unavailable("virus scanner");
            }
            Err(_) => {
                warn!("clamd timed out");
                tally("clamd", "unavailable");
                return unavailable("virus scanner");
            }
        }
    }
    let mut headers = String::new();
    if let Some(spamd) = settings.spamd {
        if message.len() > SPAM_CHECK_MAX {
            tally("spamd", "skipped");
            return Verdict::Pass(headers);
        }
        let result = tokio::time::timeout(limit, ask_spamd(spamd, message)).await;
        let score = match result {
            Ok(Ok(score)) => score,
            Ok(Err(e)) => {
                warn!(error = %e, "spamd failed");
                tally("spamd", "unavailable");
                return unavailable("spam filter");
            }
            Err(_) => {
                warn!("spamd timed out");
                tally("spamd", "unavailable");
                return unavailable("spam filter");
            }
        };
        if score.is_spam
            && settings
                .spam_reject_score
                .is_some_and(|limit| score.score >= limit)
        {
            tally("spamd", "reject");
            return Verdict::Reject(reply(550, (5, 7, 1), "Message refused as spam"));
        }
        tally("spamd", if score.is_spam { "spam" } else { "ham" });
        headers = score.headers();
    }
    Verdict::Pass(headers)
}

/// Counts one filter verdict for the metrics.
fn tally(filter: &str, verdict: &str) {
    crate::metrics::count(
        "sansmail_filter_verdicts_total",
        &[("filter", filter), ("verdict", verdict)],
    );
}

/// What clamd said.
#[derive(Debug, PartialEq)]
pub enum ScanResult {
    /// No virus found.
    Clean,
    /// A virus, by signature name.
    Infected(String),
    /// Larger than clamd's StreamMaxLength.
    TooLarge,
}

/// Streams `message` to clamd at `address` (`HOST:PORT` or a socket path).
pub async fn scan_clamd(address: &str, message: &[u8]) -> std::io::Result<ScanResult> {
    if address.starts_with('/') {
        #[cfg(unix)]
        return instream(tokio::net::UnixStream::connect(address).await?, message).await;
        #[cfg(not(unix))]
        return Err(std::io::Error::other("Unix sockets are not available"));
    }
    instream(tokio::net::TcpStream::connect(address).await?, message).await
}

async fn instream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    message: &[u8],
) -> std::io::Result<ScanResult> {
    stream.write_all(b"zINSTREAM\0").await?;
    for chunk in message.chunks(64 * 1024) {
        stream
            .write_all(&(chunk.len() as u32).to_be_bytes())
            .await?;
        stream.write_all(chunk).await?;
    }
    stream.write_all(&[0, 0, 0, 0]).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    stream.take(4096).read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    let answer = answer.trim_end_matches(['\0', '\n']).trim();
    if answer.ends_with("size limit exceeded. ERROR") {
        return Ok(ScanResult::TooLarge);
    }
    let verdict = answer.strip_prefix("stream: ").unwrap_or(answer);
    if verdict == "OK" {
        Ok(ScanResult::Clean)
    } else if let Some(name) = verdict.strip_suffix(" FOUND") {
        Ok(ScanResult::Infected(name.to_owned()))
    } else {
        Err(std::io::Error::other(format!("clamd answered {answer:?}")))
    }
}

/// spamd's verdict.
#[derive(Debug, PartialEq)]
pub struct SpamScore {
    /// True at or above the threshold.
    pub is_spam: bool,
    /// The score.
    pub score: f64,
    /// The threshold.
    pub threshold: f64,
    /// The rules that matched.
    pub rules: Vec<String>,
}

impl SpamScore {
    /// The `X-Spam-*` header fields for this verdict.
    pub fn headers(&self) -> String {
        let yes = if self.is_spam { "Yes" } else { "No" };
        let mut out = format!(
            "X-Spam-Status: {yes}, score={:.1} required={:.1} tests={}\r\nX-Spam-Score: {:.1}\r\n",
            self.score,
            self.threshold,
            if self.rules.is_empty() {
                "none".into()
            } else {
                self.rules.join(",")
            },
            self.score
        );
        if self.is_spam {
            out.push_str("X-Spam-Flag: YES\r\n");
        }
        out
    }
}

/// Asks spamd at `address` for the score of `message` (SYMBOLS).
pub async fn ask_spamd(
    address: std::net::SocketAddr,
    message: &[u8],
) -> std::io::Result<SpamScore> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let head = format!(
        "SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\n\r\n",
        message.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(message).await?;
    stream.shutdown().await?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(64 * 1024)
        .read_to_end(&mut answer)
        .await?;
    parse_spamd(&String::from_utf8_lossy(&answer))
}

/// Reads spamd's answer to SYMBOLS.
pub fn parse_spamd(answer: &str) -> std::io::Result<SpamScore> {
    let bad = || {
        std::io::Error::other(format!(
            "spamd answered {:?}",
            answer.lines().next().unwrap_or("")
        ))
    };
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let mut lines = head.lines();
    let status = lines.next().ok_or_else(bad)?;
    let mut words = status.split_whitespace();
    if !words.next().is_some_and(|w| w.starts_with("SPAMD/")) || words.next() != Some("0") {
        return Err(bad());
    }
    for line in lines {
        let Some(value) = line.strip_prefix("Spam:") else {
            continue;
        };
        // `Spam: True ; 1000.0 / 5.0`
        let (flag, numbers) = value.split_once(';').ok_or_else(bad)?;
        let (score, threshold) = numbers.split_once('/').ok_or_else(bad)?;
        let flag = flag.trim();
        return Ok(SpamScore {
            is_spam: flag.eq_ignore_ascii_case("true") || flag.eq_ignore_ascii_case("yes"),
            score: score.trim().parse().map_err(|_| bad())?,
            threshold: threshold.trim().parse().map_err(|_| bad())?,
            rules: body
                .trim()
                .split(',')
                .filter(|r| {
                    !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(str::to_owned)
                .collect(),
        });
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spamd_answers() {
        let s = parse_spamd("SPAMD/1.1 0 EX_OK\r\nContent-length: 12\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED").unwrap();
        assert!(s.is_spam);
        assert_eq!(s.score, 1000.0);
        assert_eq!(s.rules, ["GTUBE", "NO_RECEIVED"]);
        assert!(s.headers().contains("X-Spam-Flag: YES\r\n"));
        let s = parse_spamd("SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n").unwrap();
        assert!(!s.is_spam && s.rules.is_empty());
        assert_eq!(
            s.headers(),
            "X-Spam-Status: No, score=-0.1 required=5.0 tests=none\r\nX-Spam-Score: -0.1\r\n"
        );
        assert!(parse_spamd("SPAMD/1.1 76 Bad header line\r\n\r\n").is_err());
        assert!(parse_spamd("").is_err());
    }

    proptest::proptest! {
        /// What spamd would write for a verdict reads back as that verdict,
        /// and the header fields made from it are well-formed lines.
        #[test]
        fn spamd_answers_round_trip(
            is_spam: bool,
            score in -100.0f64..2000.0,
            threshold in 0.0f64..100.0,
            rules in proptest::collection::vec("[A-Z][A-Z0-9_]{0,20}", 0..6),
        ) {
            let flag = if is_spam { "True" } else { "False" };
            let answer = format!(
                "SPAMD/1.1 0 EX_OK\r\nContent-length: 3\r\nSpam: {flag} ; {score} / {threshold}\r\n\r\n{}",
                rules.join(",")
            );
            let parsed = parse_spamd(&answer).unwrap();
            proptest::prop_assert_eq!(&parsed, &SpamScore { is_spam, score, threshold, rules });
            let headers = parsed.headers();
            proptest::prop_assert!(headers.ends_with("\r\n"));
            for line in headers.split_terminator("\r\n") {
                proptest::prop_assert!(line.starts_with("X-Spam-") && line.bytes().all(|b| (0x20..0x7f).contains(&b)));
            }
        }
    }

    #[tokio::test]
    async fn a_filter_that_is_down_gives_a_temporary_failure() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let settings = config::Filter {
            spamd: Some(address),
            ..config::Filter::default()
        };
        let Verdict::Reject(r) = check(&settings, b"Subject: x\r\n\r\nx\r\n").await else {
            panic!("a dead spamd must not pass mail");
        };
        assert_eq!(r.code().get(), 451);
        let settings = config::Filter {
            clamd: Some(address.to_string()),
            ..config::Filter::default()
        };
        let Verdict::Reject(r) = check(&settings, b"Subject: x\r\n\r\nx\r\n").await else {
            panic!("a dead clamd must not pass mail");
        };
        assert_eq!(r.code().get(), 451);
    }
}
