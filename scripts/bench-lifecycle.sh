#!/usr/bin/env bash
# Lifecycle benchmark (issue 4): 10 000 messages of ~2 KB over 10 parallel SMTP sessions,
# relayed to one counting sink, through Posthaste on the production stack (MariaDB with
# innodb_flush_log_at_trx_commit as configured, RabbitMQ persistent + confirms, Redis,
# RSA-2048 DKIM, STARTTLS + AUTH PLAIN) and through Postfix (Debian package, STARTTLS,
# mynetworks, no DKIM) in the same run. Prints one markdown table. Not part of CI.
#
# usage: scripts/bench-lifecycle.sh [N] [SESSIONS]
# env:   BENCH_POSTFIX=0      skip the Postfix half (diagnostic runs)
#        BENCH_DRAIN=1        after the last delivery, wait for the read side to catch up
#        BENCH_DB_PARAMS=...  extra query parameters of the MariaDB URL, e.g.
#                             long_query_time=0 to send Posthaste's statements to the slow log
#        POSTHASTE_PPROF_LISTEN=127.0.0.1:6060 serve /debug/pprof from the worker (see lifecycle.go)
set -euo pipefail
N=${1:-10000}
SESSIONS=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
SINK=127.0.0.1:2600
trap 'kill $(jobs -p) 2>/dev/null || true; postmulti -i postfix-bench -p stop >/dev/null 2>&1 || true' EXIT

cd "$ROOT"
go build -o "$WORK/posthaste" ./cmd/posthaste
go build -o "$WORK/phload" ./cmd/phload

# --- Posthaste on the production stack -------------------------------------------------------
DB=posthaste_bench
mysql -uroot -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
export POSTHASTE_DATA_DIR=$WORK/data
export POSTHASTE_DATABASE_URL=mysql://root@127.0.0.1:3306/$DB${BENCH_DB_PARAMS:+?$BENCH_DB_PARAMS}
export POSTHASTE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/
export POSTHASTE_REDIS_URL=redis://127.0.0.1:6379/0
export POSTHASTE_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export POSTHASTE_AMQP_EXCHANGE=posthaste-bench.events
export POSTHASTE_AMQP_QUEUE_PREFIX=posthaste-bench.projection.
export POSTHASTE_REDIS_PREFIX=posthaste-bench:
export POSTHASTE_HOSTNAME=posthaste.bench
export POSTHASTE_SMTP_LISTEN=127.0.0.1:2525
export POSTHASTE_HTTP_LISTEN=127.0.0.1:8091
export POSTHASTE_SMTP_RELAYS=smtp://$SINK
export POSTHASTE_LOG_LEVEL=warn
# Every queue of the bench prefix (each projection's and its dead-letter queue): deliveries left
# over from an earlier run would reach the fresh database's runner, which cannot apply them
# ("store lacks versions"), retries them with backoff and dead-letters them, slowing this run.
for q in $(rabbitmqctl -q list_queues name 2>/dev/null | grep '^posthaste-bench\.projection\.' || true); do
  rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
done
P="$WORK/posthaste"
$P org create bench >/dev/null
$P server create bench/main >/dev/null
$P domain create example.org --server bench/main --skip-verification >/dev/null
CRED=$($P credential create --server bench/main --type smtp --json)
USER=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["username"])' "$CRED")
PASS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["password"])' "$CRED")
$P serve >"$WORK/serve.log" 2>&1 &
SERVE=$!
# CPU seconds (user+system) of mariadbd, RabbitMQ and serve, to print CPU per message.
cpu() { for p in $(pgrep -x mariadbd | head -1) $(pgrep -x beam.smp | head -1) $SERVE; do
  awk '{printf "%s ", $14+$15}' /proc/$p/stat 2>/dev/null || printf '0 '; done; }
for _ in $(seq 100); do curl -fs http://127.0.0.1:8091/readyz >/dev/null && break; sleep 0.2; done

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%F), machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), innodb_flush_log_at_trx_commit=$(mysql -N -uroot -e 'select @@innodb_flush_log_at_trx_commit')"
C0=$(cpu)
"$WORK/phload" -header -name "posthaste (production stack, DKIM RSA-2048, STARTTLS+AUTH)" -target 127.0.0.1:2525 \
  -sink $SINK -n "$N" -sessions "$SESSIONS" -user "$USER" -password "$PASS"
C1=$(cpu)
python3 - "$N" "$(getconf CLK_TCK)" $C0 $C1 <<'PY'
import sys
n, hz, v = int(sys.argv[1]), int(sys.argv[2]), [int(float(x)) for x in sys.argv[3:]]
d = [(b - a) * 1000 / hz / n for a, b in zip(v[:3], v[3:])]
print("CPU per message until the last delivery: mariadbd %.1f ms, RabbitMQ %.1f ms, posthaste %.1f ms, total %.1f ms" % (d[0], d[1], d[2], sum(d)))
PY
echo "load average after the Posthaste run: $(cut -d' ' -f1-3 /proc/loadavg)"
# How far the read side is behind when the last message reached the sink; with BENCH_DRAIN=1,
# how long it then takes to catch up (its CPU is not in the figure above).
lag() { "$P" status --json 2>/dev/null | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(s["relay_lag"] + sum(p["lag"] for p in s["projections"]), "events (relay %d; %s)" % (s["relay_lag"],
      ", ".join("%s %d" % (p["projection"], p["lag"]) for p in s["projections"])))'; }
echo "read-side lag at the last delivery: $(lag)"
if [ "${BENCH_DRAIN:-0}" = 1 ]; then
  T0=$(date +%s)
  until [ "$(lag | cut -d' ' -f1)" = 0 ] || [ $(( $(date +%s) - T0 )) -gt 900 ]; do sleep 2; done
  echo "read side after $(( $(date +%s) - T0 ))s: lag $(lag)"
fi
kill %1; wait %1 2>/dev/null || true
[ "${BENCH_POSTFIX:-1}" = 0 ] && exit 0
command -v postmulti >/dev/null || { echo "postfix is not installed (no postmulti): Postfix half skipped" >&2; exit 0; }

# --- Postfix (Debian package) as a second instance relaying to the same sink ----------------
if ! postmulti -l 2>/dev/null | grep -q postfix-bench; then
  postmulti -e init >/dev/null
  postmulti -I postfix-bench -e create >/dev/null
fi
PC="postconf -c /etc/postfix-bench"
$PC -e "master_service_disable =" "inet_interfaces = 127.0.0.1" "relayhost = [127.0.0.1]:2600" \
  "mynetworks = 127.0.0.0/8" "myhostname = postfix.bench" "mydestination =" \
  "smtpd_tls_security_level = may" "smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem" \
  "smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key" "smtp_tls_security_level = none" \
  "default_destination_concurrency_limit = 20" "smtp_connection_cache_on_demand = yes"
sed -i 's/^smtp\s\+inet.*/127.0.0.1:2526 inet n - y - - smtpd/' /etc/postfix-bench/master.cf
postmulti -i postfix-bench -e enable >/dev/null
postmulti -i postfix-bench -p start >/dev/null 2>&1 || postmulti -i postfix-bench -p reload >/dev/null
sleep 1
"$WORK/phload" -name "postfix $(dpkg-query -W -f='${Version}' postfix) (STARTTLS, no AUTH, no DKIM)" -target 127.0.0.1:2526 \
  -sink $SINK -n "$N" -sessions "$SESSIONS"
postmulti -i postfix-bench -p stop >/dev/null 2>&1 || true
