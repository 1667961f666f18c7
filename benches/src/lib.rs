//! Helpers the benchmarks in `benches/` share.

use std::path::PathBuf;
use std::process::Command;

/// The MIME corpus, found as the tests find it (`scripts/mime_corpus.py`).
pub fn corpus_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .arg(repo.join("scripts/mime_corpus.py"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "mime_corpus.py failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The messages of a corpus tier: `T1-small`, `T2-mixed` (the whole manifest) or `T3-large`.
pub fn tier(name: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // The mixed tier is every message of the manifest.
    let file = match name {
        "T2-mixed" => "manifest.tsv".to_owned(),
        _ => format!("{name}.txt"),
    };
    let list = std::fs::read_to_string(repo.join("mime/tests/corpus").join(file)).unwrap();
    list.lines()
        .filter_map(|l| l.split('\t').next().filter(|p| !p.is_empty()))
        .filter_map(|p| std::fs::read(dir.join(p)).ok())
        .collect()
}
