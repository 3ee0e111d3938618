#!/usr/bin/env bash
# Creates .venv and installs the pinned stack, checked against the locks' hashes: the
# run-time set (requirements-runtime.lock) and, with the argument "dev", the development
# tools too (requirements-dev.lock). Re-installs a set only when its lock, the run-time
# lock it builds on, or pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
runtime=installer/requirements-runtime.lock
dev=installer/requirements-dev.lock
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
stamp_of() { sha256sum "$@" pyproject.toml | sha256sum | cut -d' ' -f1; }
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
want=$(stamp_of "$runtime")
if [ "$(cat .venv/.runtime-stamp 2>/dev/null)" != "$want" ]; then
    "${pip[@]}" --upgrade pip
    "${pip[@]}" --require-hashes -r "$runtime"
    # The project itself: editable, so outside hash mode; its dependencies are above.
    "${pip[@]}" --no-deps -e .
    echo "$want" > .venv/.runtime-stamp
fi
if [ "${1:-}" = dev ]; then
    want=$(stamp_of "$runtime" "$dev")
    if [ "$(cat .venv/.dev-stamp 2>/dev/null)" != "$want" ]; then
        # Both files: the tools' dependencies that the run-time set pins are in the first.
        "${pip[@]}" --require-hashes -r "$runtime" -r "$dev"
        echo "$want" > .venv/.dev-stamp
    fi
fi
