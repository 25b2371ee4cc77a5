#!/usr/bin/env bash
# Create a Python 3.10 virtual environment at $1 (default .venv), finding a working 3.10:
# python3.10 on PATH (when it really runs: a pyenv shim may refuse), then pyenv's installs,
# then the usual system locations.
set -euo pipefail
venv="${1:-.venv}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
  exit 0
fi
candidates=()
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root)"
  for dir in "$root"/versions/3.10*/bin; do [ -x "$dir/python3.10" ] && candidates+=("$dir/python3.10"); done
fi
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin /usr/local/bin /usr/bin; do
  [ -x "$dir/python3.10" ] && candidates+=("$dir/python3.10")
done
for python in "${candidates[@]+"${candidates[@]}"}"; do
  if "$python" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    echo "Creating $venv with $python"
    "$python" -m venv "$venv"
    exit 0
  fi
done
cat >&2 <<'MSG'
Mava needs Python 3.10 (dm-launchpad 0.5.2 ships wheels only up to 3.10), and none was found.
Install one, then run the make command again. For example:
  pyenv install 3.10.13            # with pyenv
  sudo apt-get install python3.10 python3.10-venv   # on Debian/Ubuntu, where packaged
Or point the Makefile at an existing virtual environment: make VENV=/path/to/py310-venv ...
MSG
exit 1
