#!/usr/bin/env bash
# Smoke test of the embedded default, as a newcomer runs it: `npm start` with no
# DATABASE_URL on a free port, wait for /health 200, SIGTERM to npm, expect exit 0 and
# no server left running (npm passes the signal on: the script `exec`s node).
# Usage: scripts/smoke-start.sh [DATA_DIR]   (prints the time to ready)
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${1:-$(mktemp -d /tmp/parley-smoke-XXXXXX)}
chmod 755 "$data_dir"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
log=$(mktemp /tmp/parley-smoke-log-XXXXXX)

start=$(date +%s%N)
env -u DATABASE_URL PORT="$port" HOST=127.0.0.1 DATA_DIR="$data_dir" LOG_LEVEL=warn npm start >"$log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ -z "$ready" ]; then
  echo "smoke: server did not become healthy; log follows" >&2
  cat "$log" >&2
  kill -9 "$pid" 2>/dev/null || true
  exit 1
fi
echo "smoke: /health 200 after ${elapsed_ms} ms (data dir $data_dir)"

kill -TERM "$pid"
set +e
wait "$pid"
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "smoke: exit code $code after SIGTERM (expected 0); log follows" >&2
  cat "$log" >&2
  exit 1
fi
if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
  echo "smoke: the server still answers after SIGTERM to npm start (orphan)" >&2
  exit 1
fi
if pgrep -f "postgres -D $data_dir/pg" >/dev/null; then
  echo "smoke: embedded PostgreSQL still running after shutdown" >&2
  exit 1
fi
echo "smoke: SIGTERM -> exit 0, embedded PostgreSQL stopped"
