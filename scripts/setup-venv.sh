#!/usr/bin/env bash
# Creates (or brings up to date) the project's virtualenv from constraints.txt, showing progress.
#
# With uv it takes seconds: a uv already on PATH, else the version pinned in constraints.txt
# installed once by pip into .tools/uv (no venv needed for that). When uv cannot be had (no wheel
# for the platform, registry unreachable for it) it falls back to pip, which is slower but the same
# install. Variables: PYTHON (python3), VENV (.venv), EXTRAS (dev,bench,celery), SPX_SETUP_NO_UV=1 forces pip.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-dev,bench,celery}
TOOLS=.tools/uv
UV_VERSION=$(sed -n 's/^uv==//p' constraints.txt)

find_uv() {
  [ -n "${SPX_SETUP_NO_UV:-}" ] && return 1
  if command -v uv >/dev/null 2>&1; then command -v uv; return 0; fi
  if [ -x "$TOOLS/bin/uv" ] && "$TOOLS/bin/uv" --version | grep -qF " $UV_VERSION"; then
    echo "$TOOLS/bin/uv"; return 0
  fi
  echo "==> installing uv $UV_VERSION into $TOOLS (pip, once)" >&2
  rm -rf "$TOOLS"
  "$PYTHON" -m pip install --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$TOOLS" "uv==$UV_VERSION" >&2 || return 1
  echo "$TOOLS/bin/uv"
}

if UV=$(find_uv); then
  echo "==> $UV: creating $VENV and installing .[$EXTRAS] from constraints.txt" >&2
  "$UV" venv --seed --allow-existing --python "$PYTHON" "$VENV"
  # --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as on CI machines) nothing would ever
  # cache dagster's bytecode, and every process of the suite would compile it again (2+ s of CPU).
  "$UV" pip install --python "$VENV/bin/python" --compile-bytecode -c constraints.txt -e ".[$EXTRAS]"
else
  echo "==> uv is not available: installing with pip (a few minutes)" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check --progress-bar on -c constraints.txt -e ".[$EXTRAS]"
fi
