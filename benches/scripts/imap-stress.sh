#!/usr/bin/env bash
# IMAP stress: Dovecot's imaptest (10 clients, 5 users, the same generated
# mbox, 20 s by default) against mail-server's IMAP and against a private
# Dovecot on this machine, one after the other in one run. Prints each
# server's commands per second and error lines, and the ratio.
#
# usage: benches/scripts/imap-stress.sh [SECONDS] [CLIENTS]
# Needs: dovecot-imapd, and to build imaptest dovecot-dev autoconf automake
# libtool build-essential (scripts/test.sh installs them); a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
clients=${2:-10}
imaptest=${IMAPTEST:-$PWD/target/imaptest/imaptest}
[ -x "$imaptest" ] || ../shared/tools/imaptest/build.sh "$(dirname "$imaptest")" >&2
cargo build --release -q --bin mail-server
work=$(mktemp -d /tmp/imap-stress.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "${dovecot_pid:-}" ] && kill "$dovecot_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 benches/scripts/make-mbox.py "$work/stress.mbox" 200

# Runs the stress against a port; prints "commands/s errors".
stress() {
  local port=$1 out=$2
  "$imaptest" host=127.0.0.1 port="$port" user=u%d users=5 pass=pw mbox="$work/stress.mbox" \
    clients="$clients" secs="$secs" >"$out" 2>&1 || true
  local total errors
  total=$(grep -A4 '^Totals:' "$out" | tail -1 | awk '{s=0; for (i=1; i<=NF; i++) s+=$i; print s}')
  errors=$(grep -c 'Error' "$out" || true)
  echo "$(echo "$total / $secs" | bc -l | xargs printf '%.0f') $errors"
}

users=""
for i in 1 2 3 4 5; do users="$users --user u$i:pw"; done
port=$(free_port)
printf '[limits]\nmax_connections_per_ip = 10000\n' > "$work/ms.toml"
# shellcheck disable=SC2086
target/release/mail-server --config "$work/ms.toml" --data "$work/ms" --domain example.test $users \
  --allow-plaintext --imap "127.0.0.1:$port" --smtp off --submission off --submissions off \
  --imaps off --pop3 off --pop3s off --https off 2>"$work/ms.log" &
server_pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
read -r ms_rate ms_errors < <(stress "$port" "$work/ms.out")
kill "$server_pid"; wait "$server_pid" || true; server_pid=""

# Dovecot: maildir, plaintext logins, its defaults otherwise.
dv=$work/dovecot
mkdir -p "$dv/run" "$dv/state" "$dv/home"
dport=$(free_port)
: > "$dv/passwd"
for i in 1 2 3 4 5; do echo "u$i:{PLAIN}pw" >> "$dv/passwd"; done
owner="uid=$(id -u) gid=$(id -g)"
extra=""
if [ "$(id -u)" -eq 0 ]; then
  owner="uid=65534 gid=65534"; chown 65534:65534 "$dv/home"
else
  extra="default_internal_user = $(id -un)
default_login_user = $(id -un)"
fi
cat > "$dv/dovecot.conf" <<CONF
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dv/passwd
}
userdb {
  driver = static
  args = $owner home=$dv/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dport
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
$extra
CONF
/usr/sbin/dovecot -c "$dv/dovecot.conf" -F &
dovecot_pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$dport") 2>/dev/null; do sleep 0.1; done
read -r dv_rate dv_errors < <(stress "$dport" "$work/dovecot.out")

echo "imaptest stress: clients=$clients users=5 secs=$secs cores=$(nproc)"
printf 'mail-server  %7s commands/s  %4s error lines\n' "$ms_rate" "$ms_errors"
printf 'dovecot      %7s commands/s  %4s error lines\n' "$dv_rate" "$dv_errors"
echo "ratio mail-server/dovecot: $(echo "$ms_rate / $dv_rate" | bc -l | xargs printf '%.2f')"
