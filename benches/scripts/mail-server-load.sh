#!/usr/bin/env bash
# Load test: Postfix's smtp-source sends the same messages, over the same
# number of sessions, to mail-server and to a stock Postfix delivering to a
# maildir on this machine, one after the other in one run. The clock stops
# when the last message is in the maildir: mail-server syncs each delivery
# before its 250; Postfix syncs its queue file before the 250 and the
# maildir file before the rename, so both keep every acknowledged message.
#
# usage: benches/scripts/mail-server-load.sh [MESSAGES] [SESSIONS] [SIZE] [ROUNDS]
# (defaults: 2000 messages of 2 KB over 10 sessions, 5 rounds; each round
# measures both servers, and the median ratio is printed last)
# Needs root (Postfix), the postfix package (smtp-source) and a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
messages=${1:-2000}
sessions=${2:-10}
size=${3:-2048}
rounds=${4:-5}

[ -x /usr/sbin/smtp-source ] || { echo "needs the postfix package (smtp-source)"; exit 1; }
cargo build --release -q --bin mail-server
work=$(mktemp -d /tmp/mail-server-load.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -d "$work/postfix/etc" ] && postfix -c "$work/postfix/etc" stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Messages in a maildir: files in new/ and cur/.
count_files() { find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l; }
# Sends and waits for the last delivery; prints the elapsed seconds.
load() {
  local port=$1 maildir=$2
  local start end
  # ext4 avoids reusing inodes freed moments ago, at a cost to every new
  # file: let the files of earlier runs settle so neither side pays for them.
  sync; sleep 6
  local before
  before=$(count_files "$maildir")
  start=$(date +%s.%N)
  /usr/sbin/smtp-source -s "$sessions" -l "$size" -m "$messages" -f load@example.org -t bob@example.test "127.0.0.1:$port" >&2 || return 1
  local waited=0
  while [ "$(count_files "$maildir")" -lt $((before + messages)) ]; do
    sleep 0.05
    waited=$((waited + 1))
    [ "$waited" -lt 12000 ] || { echo "only $(( $(count_files "$maildir") - before )) of $messages delivered" >&2; return 1; }
  done
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# mail-server, with defaults apart from its ports, data directory and the
# per-address connection limit (every session here comes from 127.0.0.1).
run_mail_server() {
  local round=$1 port
  port=$(free_port)
  printf '[limits]\nmax_connections_per_ip = 10000\n' > "$work/ms.toml"
  target/release/mail-server --config "$work/ms.toml" --data "$work/ms$round" --domain example.test --user bob:pw \
    --smtp "127.0.0.1:$port" --submission off --submissions off --imap off --imaps off \
    --pop3 off --pop3s off --https off 2>"$work/ms.log" &
  server_pid=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
  load "$port" "$work/ms$round/mail/bob/Maildir" || { tail -5 "$work/ms.log" >&2; return 1; }
  kill "$server_pid"; wait "$server_pid" || true; server_pid=""
}

# Stock Postfix: the Debian configuration, one virtual maildir domain.
pf=$work/postfix
mkdir -p "$pf/etc" "$pf/queue" "$pf/data" "$pf/vmail"
chown 65534:65534 "$pf/vmail"
pport=$(free_port)
sed "s/^smtp      inet/127.0.0.1:$pport inet/" /etc/postfix/master.cf > "$pf/etc/master.cf"
cat > "$pf/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
mynetworks = 127.0.0.0/8
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
alias_maps =
alias_database =
virtual_mailbox_domains = example.test
virtual_mailbox_base = $pf/vmail
virtual_mailbox_maps = static:bob/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
CF
postconf -c "$pf/etc" -F '*/*/chroot = n' >/dev/null
chown postfix "$pf/data"
postfix -c "$pf/etc" start >"$work/postfix-start.log" 2>&1 || { cat "$work/postfix-start.log"; exit 1; }
until (exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null; do sleep 0.1; done

rate() { echo "$messages / $1" | bc -l | xargs printf '%.0f'; }
echo "messages=$messages sessions=$sessions size=$size cores=$(nproc) rounds=$rounds"
ratios=()
for round in $(seq 1 "$rounds"); do
  ms_time=$(run_mail_server "$round") || exit 1
  pf_time=$(load "$pport" "$pf/vmail/bob") || { tail -5 "$pf/maillog"; exit 1; }
  ms_rate=$(rate "$ms_time")
  pf_rate=$(rate "$pf_time")
  ratio=$(echo "$ms_rate / $pf_rate" | bc -l | xargs printf '%.2f')
  ratios+=("$ratio")
  printf 'round %d: mail-server %6s msg/s  postfix %6s msg/s  ratio %s\n' "$round" "$ms_rate" "$pf_rate" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median ratio mail-server/postfix: $median"
