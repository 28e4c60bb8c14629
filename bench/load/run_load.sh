#!/usr/bin/env bash
# Load test: the demo (300 households per scheme) in a fresh PostgreSQL database `mhi_load` on 127.0.0.1, served
# by gunicorn (2 workers of 4 threads, production settings) on loopback, driven by locust headless: 50 users for 2 minutes
# (bench/load/locustfile.py). Prints requests, failures and p95 per endpoint and overall, then stops gunicorn.
#
#   bench/load/run_load.sh                   # from the repository root, after `make install`
#   USERS=20 RUN_TIME=30s bench/load/run_load.sh
#   HOUSEHOLDS=12000 DATABASE=mhi_load_big bench/load/run_load.sh   # the issue-18 run: 12,000 households a scheme
#   KEEP_DATABASE=1 DATABASE=mhi_load_big bench/load/run_load.sh    # again on the database already loaded
#
# Needs PostgreSQL answering on 127.0.0.1 (as PGUSER, default postgres, without password) and locust in the
# virtual environment (the dev extras).
# Exit status: locust's (1 when a request failed), or 2 when the set-up failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
BIN=$VENV/bin
PGUSER=${PGUSER:-postgres}
DATABASE=${DATABASE:-mhi_load}
HOUSEHOLDS=${HOUSEHOLDS:-300}
USERS=${USERS:-50}
SPAWN_RATE=${SPAWN_RATE:-10}
RUN_TIME=${RUN_TIME:-2m}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-4}
OUT=${OUT:-test-artifacts/load}
export PGUSER

fail() { echo "run_load: $*" >&2; exit 2; }

[ -x "$BIN/locust" ] || fail "$BIN/locust is missing: make install (locust is in the dev extras)"
[ -x "$BIN/gunicorn" ] || fail "$BIN/gunicorn is missing: make install"
pg_isready -q -h 127.0.0.1 || fail "PostgreSQL does not answer on 127.0.0.1"
mkdir -p "$OUT"

# A port nobody listens on (the kernel picks it), on loopback only.
PORT=${PORT:-$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
HOST=http://127.0.0.1:$PORT

export MHI_ENV=production
MHI_SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')
export MHI_SECRET_KEY
export MHI_DATABASE_URL="postgresql+psycopg://$PGUSER@127.0.0.1:5432/$DATABASE"

"$BIN/python" tools/i18n.py compile >/dev/null
if [ -n "${KEEP_DATABASE:-}" ]; then
    echo "=== database $DATABASE as it is (KEEP_DATABASE)"
else
    echo "=== database $DATABASE, demo with $HOUSEHOLDS households per scheme"
    dropdb --if-exists -h 127.0.0.1 "$DATABASE"
    createdb -h 127.0.0.1 "$DATABASE"
    "$BIN/flask" --app mhi db upgrade 2>&1 | tail -n 1
    started=$(date +%s)
    "$BIN/flask" --app mhi demo --households "$HOUSEHOLDS" >"$OUT/demo.txt" 2>&1 || { cat "$OUT/demo.txt"; fail "the demo did not load"; }
    echo "demo loaded in $(( $(date +%s) - started )) s"
    head -n 2 "$OUT/demo.txt"
fi
echo "machine: $(nproc) cores; $(uptime)"

echo "=== gunicorn, $WORKERS workers of $THREADS threads, on $HOST"
"$BIN/gunicorn" --workers "$WORKERS" --threads "$THREADS" --bind "127.0.0.1:$PORT" --access-logfile "$OUT/access.log" \
    --error-logfile "$OUT/gunicorn.log" 'mhi:create_app()' &
GUNICORN=$!
stop_gunicorn() {
    if kill -0 "$GUNICORN" 2>/dev/null; then
        kill -TERM "$GUNICORN"
        wait "$GUNICORN" 2>/dev/null || true
        echo "gunicorn stopped"
    fi
}
trap stop_gunicorn EXIT
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null "$HOST/login" 2>/dev/null && break
    kill -0 "$GUNICORN" 2>/dev/null || fail "gunicorn stopped: see $OUT/gunicorn.log"
    sleep 0.5
done
curl -fsS -o /dev/null "$HOST/login" || fail "gunicorn does not answer on $HOST"

echo "=== locust: $USERS users for $RUN_TIME"
status=0
"$BIN/locust" -f bench/load/locustfile.py --headless --users "$USERS" --spawn-rate "$SPAWN_RATE" \
    --run-time "$RUN_TIME" --stop-timeout 10 --host "$HOST" --csv "$OUT/locust" --only-summary \
    --loglevel WARNING >"$OUT/locust.txt" 2>&1 || status=$?

# The summary: per endpoint and overall, from locust's CSV (the 95th percentile is locust's, in ms).
"$BIN/python" - "$OUT/locust_stats.csv" <<'EOF'
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'endpoint':<60} {'requests':>9} {'failures':>9} {'median':>7} {'p95':>6} {'max':>7}  (ms)")
for row in rows:
    name = "OVERALL" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
    print(f"{name:<60} {row['Request Count']:>9} {row['Failure Count']:>9} {row['50%']:>7} {row['95%']:>6} "
          f"{float(row['Max Response Time']):>7.0f}")
total = rows[-1]
verdict = "met" if total["Failure Count"] == "0" and float(total["95%"]) < 300 else "NOT met"
print(f"target (no failure, overall p95 under 300 ms): {verdict}")
EOF
if [ -s "$OUT/locust_failures.csv" ] && [ "$(wc -l <"$OUT/locust_failures.csv")" -gt 1 ]; then
    echo "failures:"; cat "$OUT/locust_failures.csv"
fi
echo "locust's output: $OUT/locust.txt; CSV: $OUT/locust_*.csv; gunicorn's logs: $OUT/"
exit "$status"
