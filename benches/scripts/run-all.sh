#!/usr/bin/env bash
# Runs every criterion benchmark once (shortened warm-up and measurement,
# so the whole set takes about half an hour on 2 cores), plus the heap and
# sending measurements, then writes benches/results/DATE-HOST.md and .svg
# with benches/scripts/report.py.
#   benches/scripts/run-all.sh [measurement seconds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-3}"
if [ ! -d ../shared/corpus/mime/tiers/large ] && [ -x ../shared/corpus/mime/gen_large.py ]; then
  (cd ../shared/corpus/mime && python3 gen_large.py >/dev/null)
fi
rm -rf target/criterion
out="$(mktemp -d)"
for bench in smtp pop3 mx mime imap auth secure; do
  echo "== $bench"
  cargo bench -q -p sansmail-benches --bench "$bench" -- --warm-up-time 1 --measurement-time "$seconds" \
    | tee "$out/$bench.txt"
done
echo "== mime_memory"
cargo bench -q -p sansmail-benches --bench mime_memory | tee "$out/mime_memory.txt"
echo "== send"
cargo bench -q -p sansmail-benches --bench send | tee "$out/send.txt"
python3 benches/scripts/report.py --criterion target/criterion --extra "$out/mime_memory.txt" --extra "$out/send.txt"
