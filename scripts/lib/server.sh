# Sourced by smoke-start.sh and production-check.sh: a free port, waiting for /health,
# and a clean stop (SIGTERM, exit 0, nothing left answering).

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# wait_healthy LABEL PID PORT LOG: /health 200 within 30 s, else the log and exit 1.
wait_healthy() {
  local label=$1 pid=$2 port=$3 log=$4
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$label: server did not become healthy; log follows" >&2
  cat "$log" >&2
  kill -9 "$pid" 2>/dev/null || true
  exit 1
}

# stop_cleanly LABEL PID PORT LOG: SIGTERM to PID (npm, which passes it on), exit 0 expected,
# and no server left answering on PORT (an orphan).
stop_cleanly() {
  local label=$1 pid=$2 port=$3 log=$4 code
  kill -TERM "$pid"
  set +e
  wait "$pid"
  code=$?
  set -e
  if [ "$code" -ne 0 ]; then
    echo "$label: exit code $code after SIGTERM (expected 0); log follows" >&2
    cat "$log" >&2
    exit 1
  fi
  if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
    echo "$label: the server still answers after SIGTERM to npm (orphan)" >&2
    exit 1
  fi
}
