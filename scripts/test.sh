#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test
# (including those against real peers over loopback) and the docs.
# Installs the real peers it needs when they are missing (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v swaks >/dev/null || missing+=(swaks)
[ -x /usr/sbin/postfix ] || missing+=(postfix)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
[ -e /usr/lib/x86_64-linux-gnu/libidn.so.12 ] || [ -e /lib/x86_64-linux-gnu/libidn.so.12 ] || missing+=(libidn12)
# POP3 peers: Dovecot's POP3 server, fetchmail and getmail6 as clients, openssl for Dovecot's certificate.
[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
# IMAP peers: Dovecot's IMAP server, and mbsync (isync) as a syncing client.
[ -e /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
[ -e /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
command -v mbsync >/dev/null || missing+=(isync)
command -v fetchmail >/dev/null || missing+=(fetchmail)
command -v getmail >/dev/null || missing+=(getmail6)
command -v openssl >/dev/null || missing+=(openssl)
# mail-server's filters: SpamAssassin's spamd and ClamAV's clamd (with a
# signature database the tests write, so nothing is downloaded); mutt as a client.
[ -x /usr/sbin/spamd ] || missing+=(spamd)
[ -d /usr/share/spamassassin ] || missing+=(spamassassin)
[ -x /usr/sbin/clamd ] || missing+=(clamav-daemon)
command -v mutt >/dev/null || missing+=(mutt)
# The SPF test suite is YAML: scripts/spf_suite.py reads it with PyYAML.
python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
# Sender authentication peers: OpenDKIM (its test mode, and as Postfix's
# milter) and OpenDMARC (its test mode).
[ -x /usr/sbin/opendkim ] || missing+=(opendkim)
[ -x /usr/sbin/opendmarc ] || missing+=(opendmarc)
# DNS: NSD serves the MX test zone on loopback.
[ -x /usr/sbin/nsd ] || missing+=(nsd)
# PGP/MIME: GnuPG checks what we sign and encrypt, and makes what we read.
command -v gpg >/dev/null || missing+=(gnupg)
# DANE: ldns-signzone signs a zone for NSD, unbound validates it.
command -v ldns-signzone >/dev/null || missing+=(ldnsutils)
[ -x /usr/sbin/unbound ] || missing+=(unbound)
# Monitoring and certificates: a real Prometheus scrapes mail-server's
# metrics; Pebble (Let's Encrypt's ACME test server) issues its certificates.
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/pebble ] || missing+=(pebble)
# systemd-analyze rates the hardening of the packaged unit file, offline.
command -v systemd-analyze >/dev/null || missing+=(systemd)
# The webmail in a real browser: Chromium, its driver, and Selenium for
# Debian's own python3 (/usr/bin/python3, which the browser test runs).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
/usr/bin/python3 -c 'import selenium' 2>/dev/null || missing+=(python3-selenium)
# PostgreSQL's server: the tests make private clusters (initdb, pg_ctl) for
# the shared store; psql reads what the store wrote.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
# Dovecot's imaptest (compliance and stress) is built against dovecot-dev.
[ -f /usr/include/dovecot/config.h ] || missing+=(dovecot-dev)
command -v autoreconf >/dev/null || missing+=(autoconf automake)
command -v libtoolize >/dev/null || missing+=(libtool)
command -v make >/dev/null && command -v gcc >/dev/null || missing+=(build-essential)
# Exim is the one packaged MTA whose client sends BDAT. Its package conflicts
# with Postfix's, so it is unpacked instead of installed, somewhere its
# unprivileged user can reach to re-run itself.
peers=/opt/sansmail-peers
exim_root="$peers/exim"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ] || [ ! -x "$exim_root/usr/sbin/exim4" ]; then
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": the package must not start a system Postfix on port 25;
  # the tests run private instances of their own.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing real peers: ${missing[*]}"
  # Packages must not start system daemons (Dovecot would take ports 110
  # and 143): the tests run private instances on free ports.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$made_policy" ] || $sudo rm -f "$policy"
fi
# A python3 other than Debian's (pyenv) does not see python3-yaml: pip, then.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
# dkimpy, Python's DKIM library, checks our signatures and signs for us to
# check; it verifies Ed25519 only with PyNaCl there (without, it says "fail").
python3 -c "import dkim, authres, nacl" 2>/dev/null || python3 -m pip install -q dkimpy authres pynacl
# jmapc, a Python JMAP client library, is the JMAP peer.
python3 -c "import jmapc" 2>/dev/null || python3 -m pip install -q jmapc
# websockets, Python's WebSocket library, is the JMAP-over-WebSocket peer.
python3 -c "import websockets.sync.client" 2>/dev/null || python3 -m pip install -q websockets
# pyspf (with dnspython) is the SPF peer over the test zone.
python3 -c "import spf, dns.resolver" 2>/dev/null || python3 -m pip install -q pyspf dnspython
if [ ! -x "$exim_root/usr/sbin/exim4" ]; then
  echo "== unpacking exim4-daemon-light into $exim_root"
  debs="$(mktemp -d)"
  $sudo mkdir -p "$exim_root"
  $sudo chmod 755 "$peers"
  (cd "$debs" && apt-get download -qq exim4-daemon-light 2>/dev/null)
  $sudo dpkg -x "$debs"/exim4-daemon-light_*.deb "$exim_root"
  rm -rf "$debs"
fi
# The binary looks up its compiled-in user before it reads any configuration.
id Debian-exim >/dev/null 2>&1 || $sudo useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim
# imaptest from its source beside the checkout (about 15 s); the tests run
# it against imap-server and mail-server.
if [ ! -x target/imaptest/imaptest ]; then
  imaptest_src=""
  for dir in ../shared/tools/imaptest /work/shared/tools/imaptest; do
    [ -x "$dir/build.sh" ] && { imaptest_src=$dir; break; }
  done
  [ -n "$imaptest_src" ] || { echo "imaptest's source is missing: ../shared/tools/imaptest" >&2; exit 1; }
  echo "== building imaptest"
  "$imaptest_src/build.sh" "$PWD/target/imaptest"
fi
export IMAPTEST="$PWD/target/imaptest/imaptest"

# A clean build gains nothing from incremental state, which only costs disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== declared minimum Rust versions, crate READMEs"
python3 scripts/msrv.py
python3 scripts/readmes.py --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
echo "== cargo install of the server package"
CARGO_TARGET_DIR="$PWD/target" cargo install --locked --debug --quiet --path examples/server --root target/install-check
target/install-check/bin/mail-server check-config >/dev/null
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
echo "== fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --bins
echo "== disk used by the build: $(du -sh target | cut -f1)"
