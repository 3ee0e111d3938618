#!/usr/bin/env bash
# Freezes the control tower into a one-folder bundle, dist/control-tower/ (the program is
# dist/control-tower/control-tower: the window, --headless and every subcommand, with no
# Python needed on the machine), and packs it with install.sh into
# dist/control-tower-VERSION-linux-x86_64.tar.gz.
#
# The build venv (build/venv) holds only the run-time lock and PyInstaller's
# (requirements-build.lock), checked against their hashes: no test tool gets in. A bundle
# already built from the same sources and locks is kept (build/cache/bundle.key); --force
# builds again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
runtime=installer/requirements-runtime.lock
tools=installer/requirements-build.lock
venv=build/venv
cache=build/cache
mkdir -p "$cache"

# What the bundle is made of: every source, resource, doc and lock (committed or not;
# outside a git checkout, every file of those folders).
parts=(app widgets resources docs main.py README.md pyproject.toml installer)
source_key() {
    { git ls-files -z --cached --others --exclude-standard -- "${parts[@]}" 2>/dev/null \
        || find "${parts[@]}" -type f -not -path '*/__pycache__/*' -print0; } \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
version=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit-dirty"
fi
tarball="dist/control-tower-$version-linux-x86_64.tar.gz"
key=$(source_key)
if [ "${1:-}" != --force ] && [ -x dist/control-tower/control-tower ] && [ -f "$tarball" ] \
    && [ "$(cat "$cache/bundle.key" 2>/dev/null)" = "$key" ]; then
    echo "build: dist/control-tower is up to date ($tarball)"
    exit 0
fi
started=$SECONDS

stamp=$(sha256sum "$runtime" "$tools" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.build-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    "$PY" -m venv "$venv"
    pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" --upgrade pip
    "${pip[@]}" --require-hashes -r "$runtime" -r "$tools"
    echo "$stamp" > "$venv/.build-stamp"
fi

rm -f "$cache/bundle.key"
printf '{"version": "%s", "commit": "%s"}\n' "$version" "$commit" > "$cache/build-info.json"
TOWER_BUILD_INFO="$PWD/$cache/build-info.json" "$venv/bin/pyinstaller" --noconfirm \
    --log-level WARN --workpath build/pyinstaller --distpath dist installer/control-tower.spec
# The interpreter's and the wheels' libraries carry their symbol tables (50 MB); not with
# PyInstaller's strip option, which also breaks those patchelf rewrote (strip_bundle.py).
"$venv/bin/python" installer/strip_bundle.py dist/control-tower

# The tarball: the bundle and what installs it, under one folder named like the file.
stage="build/stage/control-tower-$version"
rm -rf build/stage
mkdir -p "$stage"
cp -a dist/control-tower "$stage/control-tower"
cp installer/install.sh installer/tower.toml installer/control-tower-recorder.service \
    installer/control-tower.desktop "$stage/"
cp resources/icons/control-tower.svg resources/icons/control-tower.png "$stage/"
tar -C build/stage -czf "$tarball" "control-tower-$version"
rm -rf build/stage
echo "$key" > "$cache/bundle.key"
echo "build: $tarball; bundle $(du -sm dist/control-tower | cut -f1) MB in $((SECONDS - started)) s"
