//! `mime-tree` against Python's `email` package on the whole public MIME
//! corpus: every message must read the same, except those listed with a
//! reason in mime/tests/python-email-differences.txt.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sansmail_mime::Limits;
use sansmail_mime::stream::compare_with_whole;
use sansmail_test_support::{bin, require, run};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the repository holds examples/clients")
}

/// The corpus beside the checkout, or rebuilt from the package registries.
fn corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = run(
            Command::new(require("python3")).arg(repo().join("scripts/mime_corpus.py")),
            b"",
            Duration::from_secs(600),
        );
        assert!(
            out.status.success(),
            "mime_corpus.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

#[test]
fn mime_tree_matches_python_email_on_the_corpus() {
    let repo = repo();
    let python = require("python3");
    let corpus = corpus().display().to_string();
    let out = run(
        Command::new(&python)
            .arg(repo.join("scripts/mime_tree_compare.py"))
            .arg(bin("mime-tree"))
            .arg(corpus.trim())
            .arg(repo.join("mime/tests/corpus/manifest.tsv"))
            .arg(repo.join("mime/tests/python-email-differences.txt")),
        b"",
        Duration::from_secs(600),
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mime-tree differs from Python's email:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("1601 messages: 1511 same"), "{report}");
}

/// The incremental parser, fed each message in chunks of changing sizes
/// (and the small ones octet by octet), finds what parsing it whole finds.
#[test]
fn streaming_matches_whole_parsing_on_the_corpus() {
    let manifest = std::fs::read_to_string(repo().join("mime/tests/corpus/manifest.tsv")).unwrap();
    let mut seed = 0x2545_f491_u64;
    let mut checked = 0;
    for line in manifest.lines() {
        let name = line.split('\t').next().unwrap();
        let raw = std::fs::read(corpus().join(name)).unwrap();
        let mut cuts = Vec::new();
        let mut at = 0;
        while at < raw.len() {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            at += 1 + (seed >> 33) as usize % 300;
            cuts.push(at);
        }
        let bytewise: Vec<usize> = if raw.len() < 4096 {
            (1..raw.len()).collect()
        } else {
            (4096..raw.len()).step_by(4096).collect()
        };
        for cuts in [cuts, bytewise] {
            if let Err(e) = compare_with_whole(&raw, &cuts, Limits::default()) {
                panic!("{name}: {e}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 1601);
}

#[test]
fn mime_tree_prints_defects_on_request() {
    let dir = sansmail_test_support::TempDir::new("mime-tree");
    let file = dir.path().join("broken.eml");
    std::fs::write(
        &file,
        b"Subject: =?utf-8?q?caf=C3=A9?=\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.txt\n\naGVsbG8*\n",
    )
    .unwrap();
    let out = run(
        Command::new(bin("mime-tree")).arg("--defects").arg(&file),
        b"",
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "{{\"file\": \"{}\", \"subject\": \"café\", \"parts\": [{{\"section\": \"1\", \"type\": \"text/plain\", \
\"charset\": null, \"filename\": \"été.txt\", \"len\": 5, \"sha256\": \"{}\"}}], \"defects\": [",
        file.display(),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert!(line.starts_with(&expected), "{line}");
    for kind in [
        "CloseBoundaryNotFound",
        "InvalidBase64Characters",
        "InvalidBase64Padding",
    ] {
        assert!(line.contains(kind), "{kind} missing: {line}");
    }
}
