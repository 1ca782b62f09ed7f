#!/usr/bin/env bash
# The console in a real browser: starts `almo up --demo` (which starts the console) on free
# loopback ports with its own database, then runs services/console/browser/console.test.cjs in
# Debian's Chromium (installed with apt-get when /usr/bin/chromium is missing) through
# playwright-core (npm; its browser download is never used) with axe-core (npm): every demo role
# signs in, every page is opened and checked for WCAG 2.2 A/AA violations, the variance upload
# and an exception report are submitted, and each page's screenshot is saved under
# target/console-screenshots/. With --docs the README's three screenshots are written to
# docs/console/ too. A few minutes at most; bounded by ALMO_CONSOLE_BROWSER_TIMEOUT (300 s).
set -euo pipefail
cd "$(dirname "$0")/.."

docs=""
[ "${1:-}" = "--docs" ] && docs=docs/console

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version

# The test's npm packages, project-local (node_modules is ignored by git); no browser download.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm install --prefix services/console/browser --no-save --no-audit --no-fund --silent

cargo build -q -p almo
ALMO=target/debug/almo

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
grpc=127.0.0.1:$(free_port)
web=127.0.0.1:$(free_port)
work=$(mktemp -d)
ALMO_LISTEN=$grpc ALMO_CONSOLE_LISTEN=$web ALMO_DATABASE_URL="sqlite://$work/almo.db?mode=rwc" \
  "$ALMO" up --demo >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT

ready=""
for _ in $(seq 1 150); do
  if "$ALMO" healthcheck --addr "$grpc" >/dev/null 2>&1 &&
    curl -fsS "http://$web/healthz" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "almo up --demo did not start the suite and the console" >&2
  cat "$work/server.log" >&2
  exit 1
fi
grep -F "console: http://$web" "$work/server.log"

mkdir -p target/console-screenshots
status=0
CONSOLE_URL="http://$web" SCREENSHOTS=target/console-screenshots DOCS_SCREENSHOTS="$docs" \
  NODE_PATH=services/console/browser/node_modules \
  timeout "${ALMO_CONSOLE_BROWSER_TIMEOUT:-300}" node services/console/browser/console.test.cjs ||
  status=$?
if [ "$status" != 0 ]; then
  echo "console browser test FAILED ($status); the suite's log:" >&2
  tail -n 50 "$work/server.log" >&2
  exit "$status"
fi
echo "screenshots: target/console-screenshots/"
