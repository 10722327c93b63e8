#!/usr/bin/env bash
# The README's set-up, checked from a fresh clone of the committed tree (CI runs this):
# - `npm install` gives no EBADENGINE warning on this Node, and shows its build steps;
# - the first `npx anemll` after it rebuilds nothing: npx installs this folder into its own
#   cache, which runs `prepare` again, and that must find the build up to date.
# Uses the npm cache for packages (--prefer-offline) and a throwaway one for npx's install.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "fresh-clone: $1" >&2
  exit 1
}

git clone --quiet "$repo" "$tmp/anemll"
cd "$tmp/anemll"
if ! npm install --no-audit --no-fund --prefer-offline </dev/null >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  fail "npm install failed"
fi
if grep -q EBADENGINE "$tmp/install.log"; then
  grep -A4 EBADENGINE "$tmp/install.log" >&2
  fail "npm install warns EBADENGINE on node $(node --version)"
fi
grep -q '^anemll: built TypeScript' "$tmp/install.log" || fail "npm install did not show the build"

built() { stat -c '%n %Y' dist/index.js dist/.prepare-stamp native/build/.prepare-stamp; }
before="$(built)"
version="$(npm_config_cache="$tmp/npx-cache" npx anemll --version </dev/null)" ||
  fail "npx anemll --version failed"
[ "$version" = "$(node -p 'require("./package.json").version')" ] ||
  fail "npx anemll --version printed '$version'"
[ "$(built)" = "$before" ] || fail "the first npx anemll rebuilt the project"
node scripts/prepare.mjs --check >/dev/null || fail "the build is out of date after npx"
echo "fresh-clone: npm install (no EBADENGINE on node $(node --version)), then npx anemll $version without a rebuild"
