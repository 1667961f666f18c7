//! SMTP TLS reporting (RFC 8460): the `_smtp._tls` TXT record that says
//! where a domain wants reports, the JSON report, and a collector that
//! counts a sender's TLS sessions per recipient domain and policy until
//! the reports are due. No I/O: the caller looks the record up, keeps the
//! clock and sends the reports (by mail or HTTPS POST).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Why a `_smtp._tls` record is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a TLSRPT record: {0}")]
pub struct RecordError(&'static str);

/// Where reports go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportUri {
    /// Mailed to this address.
    Mailto(String),
    /// POSTed to this `https:` URL.
    Https(String),
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportUri::Mailto(address) => write!(f, "mailto:{address}"),
            ReportUri::Https(url) => f.write_str(url),
        }
    }
}

/// The `_smtp._tls.DOMAIN` TXT record (RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report destinations, in the record's order.
    pub rua: Vec<ReportUri>,
}

impl TlsRptRecord {
    /// Parses one TXT record's text (its character-strings joined).
    pub fn parse(text: &str) -> Result<TlsRptRecord, RecordError> {
        let mut fields = text.split(';').map(str::trim);
        if fields.next() != Some("v=TLSRPTv1") {
            return Err(RecordError("it does not start with v=TLSRPTv1"));
        }
        let mut rua = None;
        for field in fields.filter(|f| !f.is_empty()) {
            let (name, value) = field
                .split_once('=')
                .ok_or(RecordError("a field is not name=value"))?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(RecordError("a field name is malformed"));
            }
            if name != "rua" {
                continue;
            }
            if rua.is_some() {
                return Err(RecordError("rua is given twice"));
            }
            let mut uris = Vec::new();
            for uri in value.split(',').map(str::trim) {
                uris.push(parse_uri(uri)?);
            }
            rua = Some(uris);
        }
        let rua = rua.ok_or(RecordError("no rua"))?;
        Ok(TlsRptRecord { rua })
    }

    /// The one TLSRPT record among a name's TXT records: several, or
    /// none, means the domain asks for no reports.
    pub fn from_records<'t>(texts: impl IntoIterator<Item = &'t str>) -> Option<TlsRptRecord> {
        let mut found = texts.into_iter().filter(|t| t.starts_with("v=TLSRPTv1"));
        let one = found.next()?;
        match found.next() {
            Some(_) => None,
            None => TlsRptRecord::parse(one).ok(),
        }
    }
}

impl fmt::Display for TlsRptRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=TLSRPTv1; rua=")?;
        for (i, uri) in self.rua.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{uri}")?;
        }
        Ok(())
    }
}

/// One `rua` URI: `mailto:` with one address, or `https:`. Others (and
/// commas or semicolons inside one, which RFC 8460 wants %-encoded) are refused.
fn parse_uri(uri: &str) -> Result<ReportUri, RecordError> {
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if let Some(address) = uri.strip_prefix("mailto:") {
        let ok = plain(address)
            && address
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
        return match ok && !address.contains('?') {
            true => Ok(ReportUri::Mailto(address.to_owned())),
            false => Err(RecordError("a mailto: URI is not one address")),
        };
    }
    match uri.strip_prefix("https://") {
        Some(rest) if plain(rest) => Ok(ReportUri::Https(uri.to_owned())),
        _ => Err(RecordError("a rua URI is neither mailto: nor https:")),
    }
}

/// Which policy a session was held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyType {
    /// DANE (TLSA records).
    Tlsa,
    /// MTA-STS.
    Sts,
    /// Neither.
    NoPolicyFound,
}

/// The policy a session was held to, as a report names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyDescription {
    /// DANE, MTA-STS or none.
    pub policy_type: PolicyType,
    /// The policy's lines (MTA-STS) or records (TLSA); empty for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_string: Vec<String>,
    /// The recipient domain.
    pub policy_domain: String,
    /// The MX host patterns (MTA-STS) or the MX host (DANE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mx_host: Vec<String>,
}

/// Why a session failed (RFC 8460 §4.3.2.1 and §4.3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultType {
    /// The receiver did not offer STARTTLS.
    StarttlsNotSupported,
    /// The certificate does not name the MX host.
    CertificateHostMismatch,
    /// The certificate has expired.
    CertificateExpired,
    /// The certificate does not chain to a trusted root.
    CertificateNotTrusted,
    /// Another failure.
    ValidationFailure,
    /// None of the TLSA records was valid.
    TlsaInvalid,
    /// The resolver returned no valid DNSSEC answer.
    DnssecInvalid,
    /// DANE was required and could not be used.
    DaneRequired,
    /// The MTA-STS policy could not be fetched.
    StsPolicyFetchError,
    /// The MTA-STS policy was malformed.
    StsPolicyInvalid,
    /// The MTA-STS policy server's certificate was not valid.
    StsWebpkiInvalid,
}

/// One kind of failed session and how many there were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetails {
    /// Why.
    pub result_type: ResultType,
    /// Our address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<IpAddr>,
    /// The MX host tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    /// Its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<IpAddr>,
    /// Sessions that failed this way.
    pub failed_session_count: u64,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
}

/// Session counts under one policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// Sessions with TLS as the policy asked.
    pub total_successful_session_count: u64,
    /// The others.
    pub total_failure_session_count: u64,
}

/// One policy's part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyReport {
    /// The policy.
    pub policy: PolicyDescription,
    /// Its counts.
    pub summary: Summary,
    /// The failures by kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_details: Vec<FailureDetails>,
}

/// The period a report covers, as RFC 3339 times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    /// The first second.
    pub start_datetime: String,
    /// The last second.
    pub end_datetime: String,
}

/// A report (RFC 8460 §4.4), as JSON with `serde_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// Who sends the report.
    pub organization_name: String,
    /// The period.
    pub date_range: DateRange,
    /// Whom to ask about it.
    pub contact_info: String,
    /// Unique per report.
    pub report_id: String,
    /// One entry per policy applied to the domain.
    pub policies: Vec<PolicyReport>,
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// A report read from JSON.
    pub fn from_json(text: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// What happened in one session, for [`Collector::record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionResult {
    /// TLS as the policy asked.
    Success,
    /// A failure of this kind.
    Failure {
        /// Why.
        result_type: ResultType,
        /// The MX host.
        mx_host: String,
        /// Its address, when one was reached.
        address: Option<IpAddr>,
    },
}

/// Counts sessions per recipient domain and policy between reports.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    policies: BTreeMap<PolicyDescription, Counts>,
}

#[derive(Clone, Debug, Default)]
struct Counts {
    success: u64,
    failures: BTreeMap<(ResultType, String, Option<IpAddr>), u64>,
}

impl Collector {
    /// Counts one session under `policy`.
    pub fn record(&mut self, policy: &PolicyDescription, result: SessionResult) {
        let counts = self.policies.entry(policy.clone()).or_default();
        match result {
            SessionResult::Success => counts.success += 1,
            SessionResult::Failure {
                result_type,
                mx_host,
                address,
            } => {
                *counts
                    .failures
                    .entry((result_type, mx_host, address))
                    .or_default() += 1
            }
        }
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The domains with sessions counted.
    pub fn domains(&self) -> Vec<String> {
        let domains: std::collections::BTreeSet<&String> =
            self.policies.keys().map(|p| &p.policy_domain).collect();
        domains.into_iter().cloned().collect()
    }

    /// Takes everything counted for `domain` as a report for `[start, end)`
    /// (Unix seconds), leaving the other domains' counts.
    pub fn take_report(
        &mut self,
        domain: &str,
        (start, end): (u64, u64),
        organization: &str,
        contact: &str,
        report_id: &str,
    ) -> Option<Report> {
        let keys: Vec<PolicyDescription> = self
            .policies
            .keys()
            .filter(|p| p.policy_domain == domain)
            .cloned()
            .collect();
        let policies: Vec<PolicyReport> = keys
            .into_iter()
            .filter_map(|key| {
                let counts = self.policies.remove(&key)?;
                let failure_details: Vec<FailureDetails> = counts
                    .failures
                    .iter()
                    .map(|((result_type, host, ip), n)| FailureDetails {
                        result_type: *result_type,
                        sending_mta_ip: None,
                        receiving_mx_hostname: Some(host.clone()),
                        receiving_ip: *ip,
                        failed_session_count: *n,
                        additional_information: None,
                    })
                    .collect();
                Some(PolicyReport {
                    policy: key,
                    summary: Summary {
                        total_successful_session_count: counts.success,
                        total_failure_session_count: failure_details
                            .iter()
                            .map(|f| f.failed_session_count)
                            .sum(),
                    },
                    failure_details,
                })
            })
            .collect();
        (!policies.is_empty()).then(|| Report {
            organization_name: organization.to_owned(),
            date_range: DateRange {
                start_datetime: rfc3339(start),
                end_datetime: rfc3339(end.saturating_sub(1).max(start)),
            },
            contact_info: contact.to_owned(),
            report_id: report_id.to_owned(),
            policies,
        })
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_parse_and_refuse_what_rfc_8460_refuses() {
        let r = TlsRptRecord::parse(
            "v=TLSRPTv1; rua=mailto:tls@example.com, https://r.example.com/v1/tlsrpt",
        )
        .unwrap();
        assert_eq!(
            r.rua,
            [
                ReportUri::Mailto("tls@example.com".into()),
                ReportUri::Https("https://r.example.com/v1/tlsrpt".into())
            ]
        );
        assert_eq!(
            r.to_string(),
            "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/v1/tlsrpt"
        );
        for bad in [
            "v=TLSRPTv2; rua=mailto:a@b",
            "rua=mailto:a@b; v=TLSRPTv1",
            "v=TLSRPTv1",
            "v=TLSRPTv1; rua=http://insecure.example",
            "v=TLSRPTv1; rua=mailto:nobody",
            "v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
            "v=TLSRPTv1; rua=mailto:a@b; bad name=x",
        ] {
            assert!(TlsRptRecord::parse(bad).is_err(), "{bad}");
        }
        assert!(TlsRptRecord::parse("v=TLSRPTv1; ext=1; rua=mailto:a@b").is_ok());
        assert_eq!(
            TlsRptRecord::from_records([
                "v=TLSRPTv1; rua=mailto:a@b",
                "v=TLSRPTv1; rua=mailto:c@d"
            ]),
            None,
            "two records are none"
        );
    }

    #[test]
    fn the_collector_makes_one_report_per_domain_as_rfc_8460_shows_it() {
        let sts = PolicyDescription {
            policy_type: PolicyType::Sts,
            policy_string: vec!["version: STSv1".into(), "mode: enforce".into()],
            policy_domain: "example.net".into(),
            mx_host: vec!["*.example.net".into()],
        };
        let mut c = Collector::default();
        for _ in 0..3 {
            c.record(&sts, SessionResult::Success);
        }
        let failure = SessionResult::Failure {
            result_type: ResultType::CertificateExpired,
            mx_host: "mx1.example.net".into(),
            address: Some("192.0.2.1".parse().unwrap()),
        };
        c.record(&sts, failure.clone());
        c.record(&sts, failure);
        let other = PolicyDescription {
            policy_type: PolicyType::NoPolicyFound,
            policy_string: vec![],
            policy_domain: "example.org".into(),
            mx_host: vec![],
        };
        c.record(&other, SessionResult::Success);
        assert_eq!(c.domains(), ["example.net", "example.org"]);
        let day = 1_795_000_000 / 86_400 * 86_400;
        let report = c
            .take_report(
                "example.net",
                (day, day + 86_400),
                "Org",
                "tls@example.com",
                "r1",
            )
            .unwrap();
        assert_eq!(c.domains(), ["example.org"], "the other domain is kept");
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["date-range"]["start-datetime"], "2026-11-18T00:00:00Z");
        assert_eq!(json["date-range"]["end-datetime"], "2026-11-18T23:59:59Z");
        let policy = &json["policies"][0];
        assert_eq!(policy["policy"]["policy-type"], "sts");
        assert_eq!(policy["summary"]["total-successful-session-count"], 3);
        assert_eq!(policy["summary"]["total-failure-session-count"], 2);
        let detail = &policy["failure-details"][0];
        assert_eq!(detail["result-type"], "certificate-expired");
        assert_eq!(detail["receiving-mx-hostname"], "mx1.example.net");
        assert_eq!(detail["receiving-ip"], "192.0.2.1");
        assert_eq!(detail["failed-session-count"], 2);
        assert_eq!(Report::from_json(&report.to_json()).unwrap(), report);
        assert!(
            c.take_report("example.net", (day, day + 1), "O", "c", "r2")
                .is_none()
        );
    }

    #[test]
    fn unix_times_become_rfc_3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_256_000 + 3_661), "2026-12-03T01:01:01Z");
    }

    fn uri() -> impl Strategy<Value = ReportUri> {
        prop_oneof![
            ("[a-z0-9.+-]{1,12}", "[a-z0-9.-]{1,20}")
                .prop_map(|(l, d)| ReportUri::Mailto(format!("{l}@{d}"))),
            "[a-z0-9./_-]{1,30}".prop_map(|p| ReportUri::Https(format!("https://{p}"))),
        ]
    }

    proptest! {
        #[test]
        fn records_round_trip(rua in proptest::collection::vec(uri(), 1..4)) {
            let record = TlsRptRecord { rua };
            prop_assert_eq!(TlsRptRecord::parse(&record.to_string()).unwrap(), record);
        }

        #[test]
        fn reports_round_trip(
            success in 0u64..1000,
            failures in proptest::collection::vec((0usize..11, "[a-z]{1,8}", 1u8..255), 0..5),
        ) {
            let types = [
                ResultType::StarttlsNotSupported, ResultType::CertificateHostMismatch,
                ResultType::CertificateExpired, ResultType::CertificateNotTrusted,
                ResultType::ValidationFailure, ResultType::TlsaInvalid, ResultType::DnssecInvalid,
                ResultType::DaneRequired, ResultType::StsPolicyFetchError,
                ResultType::StsPolicyInvalid, ResultType::StsWebpkiInvalid,
            ];
            let policy = PolicyDescription {
                policy_type: PolicyType::Tlsa,
                policy_string: vec!["3 1 1 00".into()],
                policy_domain: "example.com".into(),
                mx_host: vec!["mx.example.com".into()],
            };
            let mut c = Collector::default();
            for _ in 0..success {
                c.record(&policy, SessionResult::Success);
            }
            for (t, host, last) in &failures {
                c.record(&policy, SessionResult::Failure {
                    result_type: types[*t],
                    mx_host: host.clone(),
                    address: Some(IpAddr::from([192, 0, 2, *last])),
                });
            }
            let Some(report) = c.take_report("example.com", (0, 86_400), "o", "c", "id") else {
                prop_assert!(success == 0 && failures.is_empty());
                return Ok(());
            };
            prop_assert_eq!(report.policies[0].summary.total_failure_session_count, failures.len() as u64);
            prop_assert_eq!(Report::from_json(&report.to_json()).unwrap(), report);
        }
    }
}
