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
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "== installing real peers: ${missing[*]}"
  # "No configuration": the package must not start a system Postfix on port 25;
  # the tests run private instances of their own.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
echo "== fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --bins
