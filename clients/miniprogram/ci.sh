#!/usr/bin/env bash
# The SDK's CI, from the repository's virtualenv and Node 20 (Debian's): install the pinned tools,
# generate the OpenAPI document from the Django app, hold it to Redocly's recommended ruleset,
# fail when the committed types drifted from it, compile with tsc --strict, then run the SDK's
# tests, the whole flow included, against a development server started here on a free port.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
export DATABASE_URL="${DATABASE_URL:-mysql://root@127.0.0.1:3306/lottery}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
# Redocly CLI phones home (usage telemetry, update checks) unless told not to; CI reaches nothing.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n--> sdk: %s\n' "$*"; }

command -v npm >/dev/null || {
  echo "installing Debian's nodejs and npm (the SDK's tools run on Node 20)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
}

cd "$here"
step "npm ci (versions pinned by package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error

step "OpenAPI document from the Django app"
schema="$work/openapi.json"
(cd "$root" && "$py" manage.py spectacular --format openapi-json --file "$schema" --fail-on-warn)

step "Redocly lint, recommended ruleset: 0 errors"
lint_status=0
npx redocly lint "$schema" --config redocly.yaml >"$work/lint.txt" 2>&1 || lint_status=$?
# Without the banner Redocly prints about Node 20's end of life.
grep -v '[║╔╚]' "$work/lint.txt" | sed '/^[[:space:]]*$/d' || true
if [ "$lint_status" -ne 0 ]; then echo "Redocly found errors in the OpenAPI document" >&2; exit 1; fi

step "Generated types match the document"
SCHEMA="$schema" npm run --silent check-drift

step "tsc --strict"
npm run --silent build

step "Development server on a free port (its own database, WeChat's dev login, draws in-process)"
sdk_db_url="${DATABASE_URL%%\?*}_sdk"
DATABASE_URL="$sdk_db_url" "$py" - <<'PY'
import os, urllib.parse as u
import MySQLdb
p = u.urlparse(os.environ["DATABASE_URL"])
c = MySQLdb.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306, user=p.username or "root",
                    passwd=u.unquote(p.password or ""))
c.cursor().execute(f"DROP DATABASE IF EXISTS `{p.path.lstrip('/')}`")
c.cursor().execute(f"CREATE DATABASE `{p.path.lstrip('/')}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
PY
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
(
  cd "$root"
  # No worker or beat here: tasks run in the request. So the seed is revealed at once after the
  # manual draw's lock (no LOTTERY_REVEAL_GAP_SECONDS wait, which a beat would come back for).
  export DATABASE_URL="$sdk_db_url" DJANGO_DEBUG=1 WECHAT_APP_ID= CELERY_TASK_ALWAYS_EAGER=1
  export LOTTERY_REVEAL_GAP_SECONDS=0
  unset DJANGO_SECRET_KEY
  "$py" manage.py migrate --noinput -v 0
  # The ASGI application under uvicorn: the API and the live draws' websockets on one port.
  exec "$py" -m uvicorn lottery_site.asgi:application --host 127.0.0.1 --port "$port" \
    --ws websockets-sansio --lifespan off --log-level warning
) >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log"; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

step "SDK tests (node --test), the whole flow against http://127.0.0.1:$port"
if ! LOTTERY_API_URL="http://127.0.0.1:$port" CI=true npm test; then
  echo "--- server log ---"; tail -n 80 "$work/server.log"; exit 1
fi
