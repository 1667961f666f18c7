#!/usr/bin/env bash
# One mail-server instance against two on the same PostgreSQL database, in
# one run: Postfix's smtp-source delivering MESSAGES messages (the clock
# stops when the last is in the database), then Dovecot's imaptest stress
# (5 users, CLIENTS clients per instance, SECONDS seconds; with two
# instances, one imaptest against each, the same users on both). A private
# PostgreSQL cluster (initdb + pg_ctl on a loopback port) holds everything.
#
# usage: benches/scripts/postgres-scale.sh [MESSAGES] [SESSIONS] [SECONDS] [CLIENTS]
# (defaults: 2000 messages of 2 KB over 10 sessions; 20 s with 10 clients)
# Needs the postgresql and postfix packages (smtp-source), imaptest (built
# as scripts/test.sh builds it) and a release build; root runs the cluster
# as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/../.."
messages=${1:-2000}
sessions=${2:-10}
secs=${3:-20}
clients=${4:-10}
imaptest=${IMAPTEST:-$PWD/target/imaptest/imaptest}
[ -x "$imaptest" ] || ../shared/tools/imaptest/build.sh "$(dirname "$imaptest")" >&2
[ -x /usr/sbin/smtp-source ] || { echo "needs the postfix package (smtp-source)"; exit 1; }
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
cargo build --release -q --bin mail-server
work=$(mktemp -d /tmp/postgres-scale.XXXXXX)
chmod 755 "$work"
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The cluster: durable as in production (fsync on), on a loopback port.
mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
pgport=$(free_port)
pguser=$(id -un)
[ "$(id -u)" -eq 0 ] && pguser=postgres
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" --auth=trust -U "$pguser" >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
python3 benches/scripts/make-mbox.py "$work/stress.mbox" 200

# A fresh database per configuration, migrated.
fresh_db() {
  local name=$1
  psql -X -q -d "postgres://$pguser@127.0.0.1:$pgport/postgres" -c "CREATE DATABASE $name" >/dev/null
  url="postgres://$pguser@127.0.0.1:$pgport/$name"
  target/release/mail-server migrate --store-url "$url" >/dev/null
}
count() { psql -X -A -t -d "$url" -c "SELECT count(*) FROM messages"; }

users="--user bob:pw"
for i in 1 2 3 4 5; do users="$users --user u$i:pw"; done
printf '[limits]\nmax_connections_per_ip = 10000\n' > "$work/ms.toml"
# Starts an instance on the current database; sets smtp_port and imap_port.
start_instance() {
  local n=$1
  smtp_port=$(free_port)
  imap_port=$(free_port)
  # shellcheck disable=SC2086
  target/release/mail-server --config "$work/ms.toml" --data "$work/ms-$n" --domain example.test $users \
    --store-url "$url" --allow-plaintext --smtp "127.0.0.1:$smtp_port" --imap "127.0.0.1:$imap_port" \
    --submission off --submissions off --imaps off --pop3 off --pop3s off --https off \
    2>"$work/ms-$n.log" &
  pids+=($!)
  until (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null; do sleep 0.1; done
  until (exec 3<>"/dev/tcp/127.0.0.1/$imap_port") 2>/dev/null; do sleep 0.1; done
}
stop_instances() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
  pids=()
}
# CPU seconds used so far by the cluster (its postmaster, its live
# backends, and those that ended) and by the mail-server instances.
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_now() {
  local postmaster pg=0 ms=0 hz
  hz=$(getconf CLK_TCK)
  postmaster=$(head -1 "$work/pg/data/postmaster.pid")
  pg=$(ticks "$postmaster")
  for child in $(pgrep -P "$postmaster"); do pg=$((pg + $(ticks "$child"))); done
  for pid in "${pids[@]}"; do ms=$((ms + $(ticks "$pid"))); done
  echo "$(echo "$pg / $hz" | bc -l) $(echo "$ms / $hz" | bc -l)"
}
# Prints where the CPU went since $1 (a cpu_now reading) over $2 seconds.
cpu_since() {
  local pg0 ms0 pg1 ms1
  read -r pg0 ms0 <<<"$1"
  read -r pg1 ms1 < <(cpu_now)
  printf 'PostgreSQL %.0f%%, mail-server %.0f%% of the 2 cores' \
    "$(echo "($pg1 - $pg0) * 50 / $2" | bc -l)" "$(echo "($ms1 - $ms0) * 50 / $2" | bc -l)"
}
# smtp-source to each PORT:RECIPIENT at once (MESSAGES split between
# them); prints messages per second once every one is in the database,
# and where the CPU went.
deliver() {
  local each=$((messages / $#)) start end before cpu
  before=$(count)
  cpu=$(cpu_now)
  start=$(date +%s.%N)
  local senders=()
  for target in "$@"; do
    /usr/sbin/smtp-source -s "$sessions" -l 2048 -m "$each" -f load@example.org -t "${target#*:}" \
      "127.0.0.1:${target%%:*}" &
    senders+=($!)
  done
  for pid in "${senders[@]}"; do wait "$pid"; done
  while [ "$(count)" -lt $((before + each * $#)) ]; do sleep 0.05; done
  end=$(date +%s.%N)
  printf '%.0f messages/s (%s)' "$(echo "$each * $# / ($end - $start)" | bc -l)" \
    "$(cpu_since "$cpu" "$(echo "$end - $start" | bc -l)")"
}
# imaptest against each port at once; prints total commands per second,
# error lines and where the CPU went.
stress() {
  local i=0 runs=() cpu
  cpu=$(cpu_now)
  for port in "$@"; do
    "$imaptest" host=127.0.0.1 port="$port" user=u%d users=5 pass=pw mbox="$work/stress.mbox" \
      clients="$clients" secs="$secs" >"$work/stress-$i.out" 2>&1 &
    runs+=($!)
    i=$((i + 1))
  done
  for pid in "${runs[@]}"; do wait "$pid" || true; done
  local total=0 errors=0
  for ((j = 0; j < i; j++)); do
    local t
    t=$(grep -A4 '^Totals:' "$work/stress-$j.out" | tail -1 | awk '{s=0; for (k=1; k<=NF; k++) s+=$k; print s}')
    total=$((total + t))
    errors=$((errors + $(grep -c 'Error' "$work/stress-$j.out" || true)))
  done
  echo "$((total / secs)) commands/s ($errors error lines; $(cpu_since "$cpu" "$secs"))"
}

fresh_db one
start_instance a
one_smtp=$(deliver "$smtp_port:bob@example.test")
one_imap=$(stress "$imap_port")
stop_instances

fresh_db two
start_instance a
a_smtp=$smtp_port a_imap=$imap_port
start_instance b
two_same=$(deliver "$a_smtp:bob@example.test" "$smtp_port:bob@example.test")
two_apart=$(deliver "$a_smtp:u1@example.test" "$smtp_port:u2@example.test")
two_imap=$(stress "$a_imap" "$imap_port")
stop_instances

echo "SMTP delivery (smtp-source, $messages x 2 KB, $sessions sessions per instance):"
echo "  one instance:                        $one_smtp"
echo "  two instances, into one mailbox:     $two_same"
echo "  two instances, into two mailboxes:   $two_apart"
echo "IMAP stress (imaptest, 5 users, $clients clients per instance, $secs s; two: the same users on both):"
echo "  one instance:  $one_imap"
echo "  two instances: $two_imap"
