//! mime-tree: prints one JSON line per message file: its decoded subject and
//! its leaf parts (IMAP section, type, charset, file name, and the length
//! and SHA-256 of the transfer-decoded body); `--defects` adds what the
//! parser repaired.

use std::process::ExitCode;

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_mime::Message;
use sha2::{Digest, Sha256};

const USAGE: &str = "usage: mime-tree [--defects] FILE...

  --defects   add the defects found in each message, with byte offsets";

fn parse_options() -> Result<(bool, Vec<String>), UsageError> {
    let mut args = Args::from_env();
    let mut defects = false;
    let mut files = Vec::new();
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--defects" => defects = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => {
                return Err(UsageError(format!("unknown option {flag}")));
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return Err(UsageError("no FILE given".into()));
    }
    Ok((defects, files))
}

/// A JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_or_null(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), json)
}

fn describe(path: &str, raw: &[u8], with_defects: bool) -> String {
    let message = Message::parse(raw);
    let mut parts = Vec::new();
    for (section, part) in message.leaves() {
        let (body, _) = message.decoded_body(part);
        let hash: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let media = format!("{}/{}", part.content_type.kind, part.content_type.subtype);
        let charset = part
            .charset()
            .map(|c| String::from_utf8_lossy(c).to_lowercase());
        parts.push(format!(
            "{{\"section\": {}, \"type\": {}, \"charset\": {}, \"filename\": {}, \"len\": {}, \"sha256\": \"{hash}\"}}",
            json(&section),
            json(&media),
            json_or_null(charset.as_deref()),
            json_or_null(part.filename().as_deref()),
            body.len(),
        ));
    }
    let mut line = format!(
        "{{\"file\": {}, \"subject\": {}, \"parts\": [{}]",
        json(path),
        json_or_null(message.subject().as_deref()),
        parts.join(", ")
    );
    if with_defects {
        let defects: Vec<String> = message
            .all_defects()
            .iter()
            .map(|d| format!("{{\"kind\": \"{:?}\", \"offset\": {}}}", d.kind, d.offset))
            .collect();
        line.push_str(&format!(", \"defects\": [{}]", defects.join(", ")));
    }
    line.push('}');
    line
}

fn main() -> ExitCode {
    let (with_defects, files) = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    let mut status = ExitCode::SUCCESS;
    for path in files {
        match std::fs::read(&path) {
            Ok(raw) => println!("{}", describe(&path, &raw, with_defects)),
            Err(e) => {
                eprintln!("mime-tree: {path}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
