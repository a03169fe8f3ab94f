#!/usr/bin/env bash
# The README's production path, exactly as written there, on a copy of this checkout:
#   npm ci && npm run build && npm prune --omit=dev
#   NODE_ENV=production DATABASE_URL=... JWT_SECRET=... npm run start:prod
# then /health 200, SIGTERM to npm, exit 0, no server left running.
# Usage: scripts/production-check.sh POSTGRES_ADMIN_URL   (a fresh database is made there and dropped)
set -euo pipefail
source "$(dirname "$0")/lib/server.sh"
cd "$(dirname "$0")/.."
admin_url=${1:?usage: production-check.sh postgres://user@host:port/postgres}
work=$(mktemp -d /tmp/parley-prod-XXXXXX)
db="parley_prod_check_$$"
log="$work/server.log"
cleanup() {
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Tracked and new files, as a commit of this tree would have them (no node_modules, dist, .data).
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work"
cd "$work"
echo "production: npm ci && npm run build && npm prune --omit=dev"
npm ci --no-audit --no-fund >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
# The install must be clean: no engine a dependency disagrees with, no unreviewed install script.
if grep -E "EBADENGINE|install-scripts" "$work/install.log"; then
  echo "production: npm ci warned (above)" >&2
  exit 1
fi
npm run build >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
npm prune --omit=dev --no-audit --no-fund >"$work/prune.log" 2>&1 || { cat "$work/prune.log"; exit 1; }
if [ -e node_modules/jest ] || [ -e node_modules/@types/express ]; then
  echo "production: dev dependencies still installed after prune" >&2
  exit 1
fi

psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
database_url="${admin_url%/*}/$db"
port=$(free_port)
NODE_ENV=production DATABASE_URL="$database_url" JWT_SECRET="$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")" \
  PORT="$port" HOST=127.0.0.1 LOG_LEVEL=info npm run start:prod >"$log" 2>&1 &
npm_pid=$!
wait_healthy production "$npm_pid" "$port" "$log"
echo "production: /health 200 (NODE_ENV=production, dev dependencies pruned)"
for path in /metrics /docs-json /demo; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
  [ "$status" = 404 ] || { echo "production: $path answered $status, expected 404" >&2; exit 1; }
done

stop_cleanly production "$npm_pid" "$port" "$log"
if grep -v '^$' "$log" | grep -v '^>' | grep -qv '^{'; then
  echo "production: a log line is not JSON; log follows" >&2
  cat "$log" >&2
  exit 1
fi
echo "production: SIGTERM to npm -> exit 0, no server left, every log line JSON ($(grep -c '^{' "$log") lines at info)"
