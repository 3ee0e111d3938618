#!/usr/bin/env bash
# Re-makes the two lock files from pyproject.toml, with hashes: requirements-runtime.lock
# (what the application needs; run.sh installs it alone) and requirements-dev.lock (what
# the development tools add on top; test.sh installs both). Every version already pinned
# stays as it is; to move one: bash installer/lock.sh --upgrade-package NAME. A third,
# requirements-build.lock, pins what build.sh adds to freeze the bundle (PyInstaller, from
# requirements-build.in) for Linux x86_64, the bundle's one platform.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"${PYTHON:-python3}" -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check uv==0.13.8
uv="$tools/bin/uv"
runtime=installer/requirements-runtime.lock
dev=installer/requirements-dev.lock
common=(--python-version 3.11 --generate-hashes --quiet --custom-compile-command "bash installer/lock.sh")
"$uv" pip compile pyproject.toml "${common[@]}" "$@" -o "$runtime"
# The dev lock leaves out what the runtime lock already pins (at the same version).
skip=()
for name in $(grep -oE '^[a-z0-9][a-z0-9._-]*==' "$runtime" | tr -d '='); do
    skip+=(--no-emit-package "$name")
done
"$uv" pip compile pyproject.toml --extra dev -c "$runtime" "${common[@]}" "${skip[@]}" "$@" -o "$dev"
"$uv" pip compile installer/requirements-build.in -c "$runtime" "${common[@]}" "${skip[@]}" \
    --python-platform x86_64-manylinux_2_28 "$@" -o installer/requirements-build.lock
