#!/usr/bin/env bash
# Smoke test of the embedded default, as a newcomer runs it: `npm start` with no
# DATABASE_URL on a free port, wait for /health 200, SIGTERM to npm, expect exit 0 and
# no server left running (npm passes the signal on: the script `exec`s node); /demo serves the
# demo page that npm start built.
# Usage: scripts/smoke-start.sh [DATA_DIR]   (prints the time to ready)
set -euo pipefail
source "$(dirname "$0")/lib/server.sh"
cd "$(dirname "$0")/.."
data_dir=${1:-$(mktemp -d /tmp/parley-smoke-XXXXXX)}
chmod 755 "$data_dir"
port=$(free_port)
log=$(mktemp /tmp/parley-smoke-log-XXXXXX)

start=$(date +%s%N)
env -u DATABASE_URL PORT="$port" HOST=127.0.0.1 DATA_DIR="$data_dir" LOG_LEVEL=warn npm start >"$log" 2>&1 &
pid=$!
wait_healthy smoke "$pid" "$port" "$log"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "smoke: /health 200 after ${elapsed_ms} ms (data dir $data_dir)"
# npm start builds the client too (client/dist, ignored by git): the demo page answers.
demo=$(curl -sL -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/demo")
if [[ "$demo" != "200 text/html"* ]]; then
  echo "smoke: /demo answered '$demo', expected 200 text/html; log follows" >&2
  cat "$log" >&2
  kill -TERM "$pid"
  exit 1
fi
echo "smoke: /demo 200 text/html"

stop_cleanly smoke "$pid" "$port" "$log"
if pgrep -f "postgres -D $data_dir/pg" >/dev/null; then
  echo "smoke: embedded PostgreSQL still running after shutdown" >&2
  exit 1
fi
echo "smoke: SIGTERM -> exit 0, embedded PostgreSQL stopped"
