#!/usr/bin/env bash
# Installs the Debian packages the test suite needs beyond Python, those that are missing:
# the shared libraries of Qt's offscreen platform and QtWebEngine (read off PySide6's
# binaries with ldd), one font (Qt warns, and the tests fail, without any), the mosquitto
# broker the integration tests start privately, the PostgreSQL binaries (a throwaway
# server where none runs), tzdata (the time-zone run) and binutils (PyInstaller reads and
# strips the bundle's binaries with it, installer/build.sh). Needs root and apt-get; elsewhere
# it only names what is missing.
set -euo pipefail
packages=(
    python3-venv git tzdata binutils
    libegl1 libgl1 libgbm1 libdrm2 libglib2.0-0 libdbus-1-3 libfontconfig1 libxkbcommon0
    libnss3 libasound2 libx11-6 libxcb1 libxcb-dri3-0 libxcomposite1 libxdamage1 libxext6
    libxfixes3 libxkbfile1 libxrandr2 libxrender1 libxtst6 libwayland-server0
    fonts-dejavu-core
    mosquitto
    postgresql
)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-packages: missing (install them with apt-get): ${missing[*]}" >&2
    exit 0
fi
echo "== system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
