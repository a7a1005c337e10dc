#!/usr/bin/env bash
# Runs the console's browser tests: installs Debian's Chromium if it is
# missing, installs playwright-core at the version package-lock.json pins,
# builds warden, and runs every e2e/*.test.mjs with node:test.
# Arguments go to node --test (e.g. e2e/run.sh --test-name-pattern CSRF).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
  fi
  apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
fi

npm ci --no-audit --no-fund

bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
(cd .. && go build -o "$bindir/warden" ./cmd/warden)

WARDEN_BIN="$bindir/warden" CHROMIUM="${CHROMIUM:-$(command -v chromium)}" node --test "$@" ./*.test.mjs
