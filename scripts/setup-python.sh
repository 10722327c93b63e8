#!/usr/bin/env bash
# Creates (or reuses) the Python venv for the test oracles (coremltools, numpy, gguf, tokenizers).
# Never used by the product. Usage: bash scripts/setup-python.sh  → prints the venv's python path.
#
# Location: $ANEMLL_CACHE/venv (ANEMLL_CACHE defaults to ~/.cache/anemll). The venv is reused when
# its stamp file holds the sha256 of test/oracle/requirements.txt and its python runs; otherwise
# the pinned requirements are (re)installed, recreating the venv if it is missing or broken.
# Quiet unless it fails (then pip's log is printed). Base interpreter: $PYTHON, else python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/test/oracle/requirements.txt"
cache="${ANEMLL_CACHE:-$HOME/.cache/anemll}"
venv="$cache/venv"
stamp="$venv/.requirements.sha256"
py="$venv/bin/python"
base="${PYTHON:-python3}"

mkdir -p "$cache"
want="$(sha256sum "$req" | cut -d' ' -f1)"

healthy() { [ -x "$py" ] && "$py" -c 'import sys' >/dev/null 2>&1; }

if healthy && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$py"
  exit 0
fi

# One installer at a time: other checkouts on this machine share the venv.
if command -v flock >/dev/null; then
  exec 9>"$cache/venv.lock"
  flock 9
  if healthy && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$py"
    exit 0
  fi
fi

log="$cache/setup-python.log"
: >"$log"
fail() {
  echo "setup-python: $1 (log: $log)" >&2
  tail -n 60 "$log" >&2
  exit 1
}

if ! healthy; then
  rm -rf "$venv"
  if ! "$base" -m venv "$venv" >>"$log" 2>&1; then
    # Debian's python3 ships venv/ensurepip separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      rm -rf "$venv"
      { apt-get update -qq && apt-get install -y -qq python3-venv; } >>"$log" 2>&1 ||
        fail "could not install python3-venv"
      "$base" -m venv "$venv" >>"$log" 2>&1 || fail "could not create a venv with $base"
    else
      fail "could not create a venv with $base (is python3-venv installed?)"
    fi
  fi
fi

rm -f "$stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$py" -m pip install --quiet -r "$req" >>"$log" 2>&1 || fail "pip install -r $req failed"
"$py" -c 'import coremltools, numpy' >>"$log" 2>&1 ||
  fail "the oracle packages do not import"
echo "$want" >"$stamp"
echo "$py"
