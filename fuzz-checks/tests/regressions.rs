//! Every input kept in `fuzz/regressions/<target>/` runs through that
//! target's check, so a fixed crash stays fixed without nightly or libFuzzer.

use std::path::Path;

use sansmail_fuzz_checks as checks;

/// The check of the fuzz target named `target`.
fn check_of(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "arc_verify" => checks::arc_verify::check,
        "auth_results" => checks::auth_results::check,
        "dkim_verify" => checks::dkim_verify::check,
        "dmarc_check" => checks::dmarc_check::check,
        "dmarc_record" => checks::dmarc_record::check,
        "imap_client_session" => checks::imap_client_session::check,
        "imap_command" => checks::imap_command::check,
        "imap_response" => checks::imap_response::check,
        "imap_server_session" => checks::imap_server_session::check,
        "mail_server_input" => checks::mail_server_input::check,
        "mime_parse" => checks::mime_parse::check,
        "mime_rebuild" => checks::mime_rebuild::check,
        "mime_stream" => checks::mime_stream::check,
        "mta_sts" => checks::mta_sts::check,
        "mx_lookup" => checks::mx_lookup::check,
        "pgp_mime" => checks::pgp_mime::check,
        "pop3_client_session" => checks::pop3_client_session::check,
        "pop3_command" => checks::pop3_command::check,
        "pop3_response" => checks::pop3_response::check,
        "pop3_server_session" => checks::pop3_server_session::check,
        "sansmail_input" => checks::sansmail_input::check,
        "sasl_server" => checks::sasl_server::check,
        "smime" => checks::smime::check,
        "smtp_client_session" => checks::smtp_client_session::check,
        "smtp_command" => checks::smtp_command::check,
        "smtp_data" => checks::smtp_data::check,
        "smtp_reply" => checks::smtp_reply::check,
        "smtp_server_session" => checks::smtp_server_session::check,
        "spf_check" => checks::spf_check::check,
        "spf_record" => checks::spf_record::check,
        "store_files" => checks::store_files::check,
        "tls_rpt" => checks::tls_rpt::check,
        "jmap_request" => checks::jmap_request::check,
        "jmap_api" => checks::jmap_api::check,
        _ => return None,
    })
}

#[test]
fn every_kept_regression_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).expect("fuzz/regressions") {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let check = check_of(&target)
            .unwrap_or_else(|| panic!("regressions/{target}: no fuzz target of that name"));
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let input = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&input));
            assert!(outcome.is_ok(), "{} fails its check", file.display());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 9,
        "only {replayed} inputs found under {}",
        root.display()
    );
}

#[test]
fn every_fuzz_target_has_its_check() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut count = 0;
    for file in std::fs::read_dir(&targets).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap();
        assert!(check_of(name).is_some(), "{name}: not in check_of");
        count += 1;
    }
    assert_eq!(count, 34);
}

#[test]
fn the_checks_hold_on_small_everyday_inputs() {
    // Each check on a few ordinary inputs (and none), so a check that
    // rejects good input is found here rather than by the fuzzer.
    let inputs: [&[u8]; 6] = [
        b"",
        br##"{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"a":[1]},"c0"],["Core/echo",{"#b":{"resultOf":"c0","name":"Core/echo","path":"/a/*"}},"c1"]]}"##,
        b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        b"a1 LOGIN a b\r\na2 SELECT INBOX\r\n* OK [UIDNEXT 4] x\r\n",
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
        b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n",
    ];
    for target in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets"))
            .unwrap()
    {
        let path = target.unwrap().path();
        let check = check_of(path.file_stem().unwrap().to_str().unwrap()).unwrap();
        for input in inputs {
            check(input);
        }
    }
}
