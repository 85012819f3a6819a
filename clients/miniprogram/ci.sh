#!/usr/bin/env bash
# The SDK's CI, from the repository's virtualenv and Node 20 (Debian's): install the pinned tools,
# generate the OpenAPI document from the Django app, hold it to Redocly's recommended ruleset
# (0 errors, 0 warnings), fail when the committed types or versions drifted from it or when it
# breaks the last release's contract without a new major, compile with tsc --strict, build the
# package and compile the example mini-program against it, then run the SDK's tests (operation
# coverage, the whole flow against a development server started here on a free port, with
# WeChat faked on loopback) and compare the mock's fixtures recorded from that flow with the
# committed ones. `UPDATE_FIXTURES=1 bash ci.sh` records them instead.
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
wechat_pid=""
cleanup() {
  for pid in $server_pid $wechat_pid; do
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
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

step "Redocly lint, recommended ruleset: 0 errors, 0 warnings"
lint_status=0
npx redocly lint "$schema" --config redocly.yaml >"$work/lint.txt" 2>&1 || lint_status=$?
# Without the banner Redocly prints about Node 20's end of life.
grep -v '[║╔╚]' "$work/lint.txt" | sed '/^[[:space:]]*$/d' || true
if [ "$lint_status" -ne 0 ]; then echo "Redocly found errors in the OpenAPI document" >&2; exit 1; fi
if grep -qE "[0-9]+ warnings?" "$work/lint.txt"; then
  echo "Redocly found warnings in the OpenAPI document" >&2; exit 1
fi

step "Generated types match the document"
SCHEMA="$schema" npm run --silent check-drift

step "tsc --strict"
npm run --silent build
npx tsc -p tsconfig.test.json # the tests and scripts/, for the checks below

step "Schema compatibility with the last release (.ci/previous-release, contract/)"
SCHEMA="$schema" npm run --silent contract

step "The package: CommonJS + .d.ts in dist/, loadable as WeChat's build npm loads it"
npm run --silent dist
node -e 'const sdk = require("./dist/index.js"); const mock = require("./dist/mock.js");
  if (typeof sdk.createApi !== "function" || typeof mock.mockWx !== "function") process.exit(1);
  console.log(`dist/: SDK ${sdk.SDK_VERSION} for API ${sdk.API_VERSION}`);'

step "The example mini-program: tsc --strict with WeChat's typings, against dist/"
npm run --silent example

step "Development server on a free port (its own database, WeChat faked on loopback, draws in-process)"
sdk_db_url="${DATABASE_URL%%\?*}_sdk"
# A Redis db of its own, emptied: the square's join counts are keyed by event id,
# so what the test suite left in the same db would show in the recorded fixtures.
export REDIS_URL="${REDIS_URL%/*}/${SDK_REDIS_DB:-12}"
"$py" -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()'
DATABASE_URL="$sdk_db_url" "$py" - <<'PY'
import os, urllib.parse as u
import MySQLdb
p = u.urlparse(os.environ["DATABASE_URL"])
c = MySQLdb.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306, user=p.username or "root",
                    passwd=u.unquote(p.password or ""))
c.cursor().execute(f"DROP DATABASE IF EXISTS `{p.path.lstrip('/')}`")
c.cursor().execute(f"CREATE DATABASE `{p.path.lstrip('/')}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
PY
# Its Redis keys start afresh too, under a prefix of their own (named after the database, so two
# checkouts sharing a Redis do not meet): ids start again at 1 in the new database, and a count
# of wrong attempts kept by an earlier run under the same event's id must not answer.
export CACHE_KEY_PREFIX="${sdk_db_url##*/}"
"$py" - <<'PY'
import os
import redis
client = redis.Redis.from_url(os.environ["REDIS_URL"])
for key in client.scan_iter(match=f"{os.environ['CACHE_KEY_PREFIX']}:*", count=1000):
    client.delete(key)
PY
# WeChat on loopback (tests/fake_wechat.py): the login (one code, one user), the share code's
# picture, subscribe messages. So the flow covers sharing and the subscribe quota end to end.
(cd "$root" && WORK="$work" exec "$py" - <<'PY') >"$work/fake-wechat.log" 2>&1 &
import os, sys, time
sys.path.insert(0, os.getcwd())
from tests.fake_wechat import FakeWeChat
with FakeWeChat() as fake:
    with open(os.path.join(os.environ["WORK"], "fake-wechat.url"), "w") as out:
        out.write(fake.url)
    while True:
        time.sleep(3600)
PY
wechat_pid=$!
for _ in $(seq 1 50); do [ -s "$work/fake-wechat.url" ] && break; sleep 0.2; done
[ -s "$work/fake-wechat.url" ] || { cat "$work/fake-wechat.log"; exit 1; }
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
(
  cd "$root"
  # No worker or beat here: tasks run in the request. So the seed is revealed at once after the
  # manual draw's lock (no LOTTERY_REVEAL_GAP_SECONDS wait, which a beat would come back for).
  # No drand beacon, the default templates: the answers recorded as the mock's fixtures are
  # the same on every run.
  export DATABASE_URL="$sdk_db_url" DJANGO_DEBUG=1 CELERY_TASK_ALWAYS_EAGER=1
  export WECHAT_APP_ID=wx-sdk-ci WECHAT_APP_SECRET=sdk-ci-secret WECHAT_API_BASE="$(cat "$work/fake-wechat.url")"
  export WECHAT_RESULT_TEMPLATE_ID=tmpl-result WECHAT_CANCEL_TEMPLATE_ID=tmpl-cancel
  export WECHAT_SHIPPED_TEMPLATE_ID=tmpl-shipped WECHAT_CONTENT_CHECK=0
  export LOTTERY_REVEAL_GAP_SECONDS=0
  # A privacy policy to accept, so the flow goes through the consent gate as users meet it.
  export PRIVACY_POLICY_VERSION=sdk-ci-1 PRIVACY_POLICY_URL=https://lottery.example.com/privacy
  unset DJANGO_SECRET_KEY DRAND_URLS DRAND_CHAIN_HASH WECHAT_MESSAGE_PAGE MEDIA_PUBLIC_BASE_URL
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

if [ "${UPDATE_FIXTURES:-}" = 1 ]; then
  # New operations have no recorded answer yet: record them from the flow first, so that the
  # mock's tests below run on them (a flow that fails records nothing).
  step "Mock fixtures: recorded from the flow first (UPDATE_FIXTURES=1)"
  SCHEMA="$schema" SDK_FIXTURES_OUT="$work/fixtures.ts" LOTTERY_API_URL="http://127.0.0.1:$port" \
    CI=true node --test dist-test/test/flow.test.js >"$work/record.txt" 2>&1 \
    || { cat "$work/record.txt"; exit 1; }
  cp "$work/fixtures.ts" src/fixtures.ts
fi

step "SDK tests (node --test): the whole flow against http://127.0.0.1:$port, operation coverage"
test_status=0
SCHEMA="$schema" SDK_FIXTURES_OUT="$work/fixtures.ts" LOTTERY_API_URL="http://127.0.0.1:$port" \
  CI=true npm test || test_status=$?
# Recording keeps what the flow answered even when the mock's tests failed on the old fixtures
# (a new operation has none yet): the next run tests the new ones.
if [ "${UPDATE_FIXTURES:-}" = 1 ] && [ -s "$work/fixtures.ts" ]; then
  cp "$work/fixtures.ts" src/fixtures.ts
  echo "src/fixtures.ts recorded again: run ci.sh again without UPDATE_FIXTURES and commit it"
fi
if [ "$test_status" -ne 0 ]; then
  echo "--- server log ---"; tail -n 80 "$work/server.log"; exit 1
fi

step "Mock fixtures: recorded again from the flow, equal to the committed src/fixtures.ts"
if [ "${UPDATE_FIXTURES:-}" = 1 ]; then
  echo "recorded (above)"
elif ! diff -u src/fixtures.ts "$work/fixtures.ts"; then
  echo "src/fixtures.ts differs from what the API answers now: record them again with" >&2
  echo "  UPDATE_FIXTURES=1 bash clients/miniprogram/ci.sh   (then commit src/fixtures.ts)" >&2
  exit 1
fi
echo "the mock answers what the API answers"
