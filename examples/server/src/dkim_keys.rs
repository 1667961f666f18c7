//! DKIM signing keys: made by `mail-server dkim-keygen` under
//! `DATA/dkim/DOMAIN/SELECTOR.pem`, or named in the config (`[[dkim]]`).

use std::path::{Path, PathBuf};

use sansmail_auth::arc::ArcSealer;
use sansmail_auth::dkim::{Algorithm, DkimSigner, SigningKey};
use tracing::info;

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
    let dir = data.join("dkim").join(&domain);
    let path = dir.join(format!("{selector}.pem"));
    if path.exists() {
        return Err(format!(
            "{} exists: keys are never overwritten",
            path.display()
        ));
    }
    let algorithm = match ed25519 {
        true => Algorithm::Ed25519Sha256,
        false => Algorithm::RsaSha256,
    };
    let (key, pem) = SigningKey::generate(algorithm).map_err(|e| e.to_string())?;
    let record = key.public_key_record();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_private(&path, pem.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, record))
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

/// The keys: every `[[dkim]]` key, then each key under `DATA/dkim` for a
/// domain the config names no key for.
pub fn load(settings: &Settings) -> Result<Keys, String> {
    let mut keys: Vec<(String, String, PathBuf)> = settings
        .dkim
        .iter()
        .map(|k| {
            (
                k.domain.to_ascii_lowercase(),
                k.selector.clone(),
                k.key.clone(),
            )
        })
        .collect();
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
        for key in found {
            if !keys.iter().any(|(d, _, _)| *d == key.0) {
                keys.push(key);
            }
        }
    }
    let mut signers = Vec::new();
    let mut sealers = Vec::new();
    for (domain, selector, path) in keys {
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| format!("dkim key {}: {e}", path.display()))?;
        let key =
            SigningKey::from_pem(&pem).map_err(|e| format!("dkim key {}: {e}", path.display()))?;
        info!(%domain, %selector, record = %key.public_key_record(), "DKIM signing on");
        signers.push(DkimSigner::new(&domain, &selector, key));
        let again = SigningKey::from_pem(&pem).map_err(|e| e.to_string())?;
        sealers.push(ArcSealer::new(DkimSigner::new(&domain, &selector, again)));
    }
    Ok(Keys { signers, sealers })
}
