//! sansmail-auth beside Stalwart's mail-auth 0.12 (the newest that builds
//! with our Rust; its default aws-lc-rs build): DKIM verification and signing of the small corpus tier's
//! messages (RSA-2048 and Ed25519), and SPF evaluations, with the same DNS
//! answers held in memory by both (mail-auth through its DNS cache, warm,
//! which holds SPF records parsed; ours through an `spf::RecordCache`, warm).
//!
//! Messages lose an mbox `From ` first line, as delivered over SMTP.
//! Before timing, every input is checked to give the same result in both:
//! each signature passes in both, a changed body fails in both, and every
//! SPF case gives the same result. Messages one of them cannot sign (no
//! From field) are left out of both, and so are the six on which mail-auth
//! differs: bare-LF bodies ending in whitespace-only lines, whose relaxed
//! body hash we and dkimpy compute alike and mail-auth does not.
//!
//! Run: `cargo bench -p sansmail-benches --bench auth`.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::spf::Spf;
use mail_auth::{
    AuthenticatedMessage, MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, Txt,
};
use sansmail_auth::dkim::{DkimResult, DkimSigner, DkimVerifier, SigningKey, Step};
use sansmail_auth::dns::{Answer, QueryKind, Record};
use sansmail_auth::spf;
use sansmail_benches::tier;

/// A test RSA-2048 key (made for this benchmark; signs nothing else).
const RSA_PEM: &str = include_str!("auth-rsa.pem");
/// A test Ed25519 key.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINYDwA+8XDw40J7KpNNSOstONYGSaZ5vPWor3UzWXWWW\n-----END PRIVATE KEY-----\n";

#[path = "work/spf.rs"]
mod spf_work;
use spf_work::{NOW, SPF_CASES, Zone, ours_spf, spf_zone, txt};

/// An in-memory cache for mail-auth, filled before timing.
struct MapCache<K, V>(Mutex<HashMap<K, V>>);

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for MapCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }
    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }
    fn insert(&self, key: K, value: V, _: Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

impl<K, V> Default for MapCache<K, V> {
    fn default() -> Self {
        MapCache(Mutex::new(HashMap::new()))
    }
}

#[derive(Default)]
struct Caches {
    txt: MapCache<Box<str>, Txt>,
    mx: MapCache<Box<str>, RecordSet<MX>>,
    ipv4: MapCache<Box<str>, RecordSet<Ipv4Addr>>,
    ipv6: MapCache<Box<str>, RecordSet<Ipv6Addr>>,
    ptr: MapCache<IpAddr, RecordSet<Box<str>>>,
}

/// `input` with every cache of `c`, as mail-auth takes them.
macro_rules! cached {
    ($input:expr, $c:expr) => {
        Parameters::new($input)
            .with_txt_cache(&$c.txt)
            .with_mx_cache(&$c.mx)
            .with_ipv4_cache(&$c.ipv4)
            .with_ipv6_cache(&$c.ipv6)
            .with_ptr_cache(&$c.ptr)
    };
}

fn set<T>(records: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: records.into(),
        dnssec_status: Default::default(),
    }
}

impl Zone {
    /// The same records in mail-auth's cache (keys end with a dot there).
    fn caches(&self) -> Caches {
        let caches = Caches::default();
        let far = Instant::now() + Duration::from_secs(86_400);
        for ((name, kind), answer) in &self.0 {
            let Answer::Records(records) = answer else {
                continue;
            };
            let fqdn: Box<str> = format!("{name}.").into();
            match kind {
                QueryKind::Txt => {
                    let texts: Vec<Vec<u8>> = records
                        .iter()
                        .filter_map(|r| match r {
                            Record::Txt(t) => Some(t.clone()),
                            _ => None,
                        })
                        .collect();
                    let text = texts.concat();
                    let parsed: Txt = if name.contains("._domainkey.") {
                        DomainKey::parse(&text).unwrap().into()
                    } else {
                        Spf::parse(&text).unwrap().into()
                    };
                    caches.txt.insert(fqdn, parsed, far);
                }
                QueryKind::A => caches.ipv4.insert(
                    fqdn,
                    set(records
                        .iter()
                        .filter_map(|r| match r {
                            Record::A(a) => Some(*a),
                            _ => None,
                        })
                        .collect()),
                    far,
                ),
                QueryKind::Aaaa => caches.ipv6.insert(
                    fqdn,
                    set(records
                        .iter()
                        .filter_map(|r| match r {
                            Record::Aaaa(a) => Some(*a),
                            _ => None,
                        })
                        .collect()),
                    far,
                ),
                QueryKind::Mx => {
                    let mut by_pref: Vec<MX> = Vec::new();
                    for r in records.iter() {
                        if let Record::Mx {
                            preference,
                            exchange,
                        } = r
                        {
                            by_pref.push(MX {
                                exchanges: vec![format!("{exchange}.").into_boxed_str()].into(),
                                preference: *preference,
                            });
                        }
                    }
                    caches.mx.insert(fqdn, set(by_pref), far);
                }
                QueryKind::Ptr => {}
            }
        }
        caches
    }
}

fn ours_dkim(message: &[u8], zone: &Zone) -> Vec<DkimResult> {
    let mut v = DkimVerifier::new(message, NOW);
    loop {
        match v.poll() {
            Step::Lookup(q) => {
                let a = zone.answer(&q.name, q.kind);
                v.answer(q, a);
            }
            Step::Done(results) => return results.iter().map(|r| r.result).collect(),
        }
    }
}

fn theirs_dkim(
    rt: &tokio::runtime::Runtime,
    auth: &MessageAuthenticator,
    caches: &Caches,
    message: &[u8],
) -> Vec<String> {
    let parsed = AuthenticatedMessage::parse(message).expect("mail-auth parses it");
    rt.block_on(auth.verify_dkim(cached!(&parsed, caches)))
        .iter()
        .map(|o| o.result().to_string())
        .collect()
}

fn theirs_spf(
    rt: &tokio::runtime::Runtime,
    auth: &MessageAuthenticator,
    caches: &Caches,
    ip: IpAddr,
    sender: &str,
) -> String {
    let params = mail_auth::spf::verify::SpfParameters::verify_mail_from(
        ip,
        "mx.example.net",
        "mx.receiver.example",
        sender,
    );
    rt.block_on(auth.verify_spf(cached!(params, caches)))
        .result()
        .to_string()
        .to_ascii_lowercase()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let auth = MessageAuthenticator::new(Default::default(), Default::default())
        .expect("a resolver that is never asked");
    // As delivered over SMTP: without an mbox "From " line on top.
    let messages: Vec<Vec<u8>> = tier("T1-small")
        .into_iter()
        .map(|m| match m.starts_with(b"From ") {
            true => m[m
                .iter()
                .position(|&b| b == b'\n')
                .map_or(m.len(), |i| i + 1)..]
                .to_vec(),
            false => m,
        })
        .collect();
    for (kind, pem) in [("rsa2048", RSA_PEM), ("ed25519", ED25519_PEM)] {
        let ours_key = SigningKey::from_pem(pem).unwrap();
        let record = ours_key.public_key_record();
        let signer = DkimSigner::new("example.com", "sel", ours_key);
        let signed: Vec<Vec<u8>> = messages
            .iter()
            .filter_map(|m| {
                let field = signer.sign(m, NOW).ok()?;
                // Both must read the message the same; mail-auth must parse it.
                let whole = [field.as_bytes(), m].concat();
                AuthenticatedMessage::parse(&whole)?;
                Some(whole)
            })
            .collect();
        let zone = Zone(HashMap::from([txt("sel._domainkey.example.com", &record)]));
        let caches = zone.caches();
        let mut agreed = Vec::new();
        let mut differ = 0;
        for m in &signed {
            let ours = ours_dkim(m, &zone);
            let theirs = theirs_dkim(&rt, &auth, &caches, m);
            let ours_text: Vec<String> = ours.iter().map(|r| r.to_string()).collect();
            if ours_text == theirs && ours.first() == Some(&DkimResult::Pass) {
                agreed.push(m.clone());
            } else {
                differ += 1;
                eprintln!("{kind}: results differ: ours {ours_text:?}, mail-auth {theirs:?}");
                if let Ok(dir) = std::env::var("AUTH_BENCH_DIFFERENCES") {
                    std::fs::write(format!("{dir}/{kind}-{differ}.eml"), m).unwrap();
                }
            }
        }
        assert!(
            differ * 20 <= signed.len(),
            "{differ} of {} messages verify differently",
            signed.len()
        );
        // A changed body fails in both.
        let mut broken = agreed[0].clone();
        broken.extend_from_slice(b"One more line.\r\n");
        assert_eq!(ours_dkim(&broken, &zone), [DkimResult::Fail]);
        // mail-auth says neutral for a body hash that does not match (RFC 6376
        // §6.1.3 says fail, as we do); both refuse it.
        assert_ne!(theirs_dkim(&rt, &auth, &caches, &broken), ["pass"]);
        eprintln!(
            "{kind}: {} signed messages, {} verified alike (of {} in the tier)",
            signed.len(),
            agreed.len(),
            messages.len()
        );
        let mut group = c.benchmark_group(format!("auth_dkim_verify_{kind}"));
        group.throughput(Throughput::Elements(agreed.len() as u64));
        group.bench_function("sansmail-auth", |b| {
            b.iter(|| {
                agreed
                    .iter()
                    .map(|m| ours_dkim(m, &zone).len())
                    .sum::<usize>()
            })
        });
        group.bench_function("mail-auth", |b| {
            b.iter(|| {
                agreed
                    .iter()
                    .map(|m| theirs_dkim(&rt, &auth, &caches, m).len())
                    .sum::<usize>()
            })
        });
        group.finish();

        // Signing: the same messages, the same fields signed (mail-auth
        // given the list ours writes in h=, its signers made before timing).
        let unsigned: Vec<&Vec<u8>> = messages
            .iter()
            .filter(|m| signer.sign(m, NOW).is_ok() && AuthenticatedMessage::parse(m).is_some())
            .collect();
        let mut group = c.benchmark_group(format!("auth_dkim_sign_{kind}"));
        group.throughput(Throughput::Elements(unsigned.len() as u64));
        group.bench_function("sansmail-auth", |b| {
            b.iter(|| {
                unsigned
                    .iter()
                    .map(|m| signer.sign(m, NOW).unwrap().len())
                    .sum::<usize>()
            })
        });
        match kind {
            #[allow(deprecated)] // its replacement takes rustls' key type; this reads the same PEM
            "rsa2048" => theirs_sign(&mut group, &unsigned, &signer, &zone, || {
                mail_auth::common::crypto::RsaKey::<mail_auth::common::crypto::Sha256>::from_pkcs8_pem(pem).unwrap()
            }),
            _ => theirs_sign(&mut group, &unsigned, &signer, &zone, || {
                mail_auth::common::crypto::Ed25519Key::from_pkcs8_der(&pem_der(pem)).unwrap()
            }),
        }
        group.finish();
    }

    // SPF.
    let zone = Zone(spf_zone().into_iter().collect());
    let caches = zone.caches();
    let records = Arc::new(spf::RecordCache::new());
    let cases: Vec<(IpAddr, &str)> = SPF_CASES
        .iter()
        .map(|(ip, s)| (ip.parse().unwrap(), *s))
        .collect();
    for (ip, sender) in &cases {
        let ours = ours_spf(*ip, sender, &zone, &records).to_string();
        let theirs = theirs_spf(&rt, &auth, &caches, *ip, sender);
        assert_eq!(ours, theirs, "{ip} {sender}");
    }
    let mut group = c.benchmark_group("auth_spf");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("sansmail-auth", |b| {
        b.iter(|| {
            cases
                .iter()
                .filter(|(ip, s)| ours_spf(*ip, s, &zone, &records) == spf::SpfResult::Pass)
                .count()
        })
    });
    group.bench_function("mail-auth", |b| {
        b.iter(|| {
            cases
                .iter()
                .filter(|(ip, s)| theirs_spf(&rt, &auth, &caches, *ip, s) == "pass")
                .count()
        })
    });
    group.finish();
}

/// Times mail-auth signing `messages`, after checking its signatures verify with ours.
fn theirs_sign<
    K: mail_auth::common::crypto::SigningKey<Hasher = mail_auth::common::crypto::Sha256>,
>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    messages: &[&Vec<u8>],
    ours: &DkimSigner,
    zone: &Zone,
    key: impl Fn() -> K,
) {
    use mail_auth::common::headers::HeaderWriter;
    let signers: Vec<_> = messages
        .iter()
        .map(|m| {
            mail_auth::dkim::DkimSigner::from_key(key())
                .domain("example.com")
                .selector("sel")
                .headers(signer_fields(ours, m))
        })
        .collect();
    for (m, s) in messages.iter().zip(&signers).take(20) {
        let whole = [s.sign(m).unwrap().to_header().as_bytes(), m.as_slice()].concat();
        assert_eq!(ours_dkim(&whole, zone), [DkimResult::Pass]);
    }
    group.bench_function("mail-auth", |b| {
        b.iter(|| {
            messages
                .iter()
                .zip(&signers)
                .map(|(m, s)| s.sign(m).unwrap().to_header().len())
                .sum::<usize>()
        })
    });
}

/// The field names our signer puts in `h=` for `message`, for mail-auth to sign the same.
fn signer_fields(signer: &DkimSigner, message: &[u8]) -> Vec<String> {
    let field = signer.sign(message, NOW).unwrap();
    let h: String = field
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    h.split(':').map(str::to_owned).collect()
}

/// The DER inside a PKCS#8 PEM.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = Vec::new();
    sansmail_mime::transfer::decode_base64(body.as_bytes(), &mut der);
    der
}

criterion_group!(benches, bench);
criterion_main!(benches);
