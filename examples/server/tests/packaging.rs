//! What ships beside the binary: the systemd unit is hardened, as
//! `systemd-analyze security` rates it offline. (`cargo install` of the
//! package is checked by scripts/test.sh.)

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

const DIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dist");

#[test]
fn the_systemd_unit_is_hardened() {
    let unit = format!("{DIST}/mail-server.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=mail-server",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} is not in the unit");
    }
    // At most 2.0 of systemd's 10-point exposure scale ("OK").
    let out = run(
        Command::new(require("systemd-analyze")).args([
            "security",
            "--offline=true",
            "--threshold=20",
            &unit,
        ]),
        b"",
        Duration::from_secs(60),
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(overall.contains(" OK"), "{overall}");
}
