//! DKIM signing keys: made by `mail-server dkim-keygen` under
//! `DATA/dkim/DOMAIN/SELECTOR.pem` (in the `dkim_keys` table, shared by
//! every instance, with a PostgreSQL store), or named in the config
//! (`[[dkim]]`).

use std::path::{Path, PathBuf};

use sansmail_auth::arc::ArcSealer;
use sansmail_auth::dkim::{Algorithm, DkimSigner, SigningKey};
use tracing::info;

use sansmail_store::Database;

use super::config::Settings;

/// Makes a key for `domain` and `selector` in `data`'s `dkim` directory
/// (RSA 2048, or Ed25519), readable by the owner only. Returns where it
/// is and the TXT record that publishes it. An existing key is kept.
pub fn generate(
    data: &Path,
    domain: &str,
    selector: &str,
    ed25519: bool,
) -> Result<(PathBuf, String), String> {
    let domain = checked(domain, selector)?;
    let dir = data.join("dkim").join(&domain);
    let path = dir.join(format!("{selector}.pem"));
    if path.exists() {
        return Err(format!(
            "{} exists: keys are never overwritten",
            path.display()
        ));
    }
    let (pem, record) = new_key(ed25519)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_private(&path, pem.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, record))
}

/// Makes a key for `domain` and `selector` in the database every instance
/// reads at start; returns its TXT record. An existing key is kept.
pub async fn generate_shared(
    db: &Database,
    domain: &str,
    selector: &str,
    ed25519: bool,
) -> Result<String, String> {
    let domain = checked(domain, selector)?;
    let (pem, record) = new_key(ed25519)?;
    let made = db
        .client()
        .await
        .map_err(|e| e.to_string())?
        .execute(
            "INSERT INTO dkim_keys (domain, selector, pem) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&domain, &selector, &pem],
        )
        .await
        .map_err(|e| format!("dkim_keys: {e}"))?;
    match made {
        1 => Ok(record),
        _ => Err(format!(
            "{selector}._domainkey.{domain} has a key in the database: keys are never overwritten"
        )),
    }
}

/// The keys in the database: (domain, selector, PEM).
pub async fn stored(db: &Database) -> Result<Vec<(String, String, String)>, String> {
    let rows = db
        .client()
        .await
        .map_err(|e| e.to_string())?
        .query(
            "SELECT domain, selector, pem FROM dkim_keys ORDER BY domain, selector",
            &[],
        )
        .await
        .map_err(|e| format!("dkim_keys: {e}"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// A new key's PEM and TXT record.
fn new_key(ed25519: bool) -> Result<(String, String), String> {
    let algorithm = match ed25519 {
        true => Algorithm::Ed25519Sha256,
        false => Algorithm::RsaSha256,
    };
    let (key, pem) = SigningKey::generate(algorithm).map_err(|e| e.to_string())?;
    Ok((pem.to_string(), key.public_key_record()))
}

/// The domain, lowercased, when it and the selector are well formed.
fn checked(domain: &str, selector: &str) -> Result<String, String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if !label_ok(&domain) || !label_ok(selector) {
        return Err(format!(
            "{domain:?} / {selector:?}: not a domain and selector"
        ));
    }
    Ok(domain)
}

/// Writes a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The signing keys: DKIM signers for submitted mail and, from the same
/// keys, ARC sealers for forwarded mail.
pub struct Keys {
    /// One per domain.
    pub signers: Vec<DkimSigner>,
    /// The same keys, in the same order.
    pub sealers: Vec<ArcSealer>,
}

/// Where a key's PEM is.
enum Pem {
    File(PathBuf),
    Text(String),
}

/// The keys: every `[[dkim]]` key, then each of `shared` (the database's)
/// and each key under `DATA/dkim` for a domain with no key yet.
pub fn load(settings: &Settings, shared: Vec<(String, String, String)>) -> Result<Keys, String> {
    let mut keys: Vec<(String, String, Pem)> = settings
        .dkim
        .iter()
        .map(|k| {
            (
                k.domain.to_ascii_lowercase(),
                k.selector.clone(),
                Pem::File(k.key.clone()),
            )
        })
        .collect();
    for (domain, selector, pem) in shared {
        if !keys.iter().any(|(d, _, _)| *d == domain) {
            keys.push((domain, selector, Pem::Text(pem)));
        }
    }
    let root = settings.data.join("dkim");
    if let Ok(domains) = std::fs::read_dir(&root) {
        let mut found = Vec::new();
        for entry in domains.flatten() {
            let domain = entry.file_name().to_string_lossy().to_ascii_lowercase();
            let Ok(files) = std::fs::read_dir(entry.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "pem")
                    && let Some(selector) = path.file_stem().and_then(|s| s.to_str())
                {
                    found.push((domain.clone(), selector.to_owned(), path.clone()));
                }
            }
        }
        // One key per domain, the first selector by name when there are several.
        found.sort();
        for (domain, selector, path) in found {
            if !keys.iter().any(|(d, _, _)| *d == domain) {
                keys.push((domain, selector, Pem::File(path)));
            }
        }
    }
    let mut signers = Vec::new();
    let mut sealers = Vec::new();
    for (domain, selector, source) in keys {
        let (pem, named) = match source {
            Pem::File(path) => (
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("dkim key {}: {e}", path.display()))?,
                path.display().to_string(),
            ),
            Pem::Text(pem) => (pem, format!("{selector}._domainkey.{domain} (database)")),
        };
        let key = SigningKey::from_pem(&pem).map_err(|e| format!("dkim key {named}: {e}"))?;
        info!(%domain, %selector, record = %key.public_key_record(), "DKIM signing on");
        signers.push(DkimSigner::new(&domain, &selector, key));
        let again = SigningKey::from_pem(&pem).map_err(|e| e.to_string())?;
        sealers.push(ArcSealer::new(DkimSigner::new(&domain, &selector, again)));
    }
    Ok(Keys { signers, sealers })
}
