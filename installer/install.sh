#!/usr/bin/env bash
# Installs the control tower from the unpacked tarball of installer/build.sh (run as root):
#   the bundle in PREFIX (default /opt/control-tower), a command control-tower in
#   /usr/local/bin, the menu entry and its icon, a default /etc/control-tower/tower.toml
#   (never overwritten), /etc/control-tower/recorder.env for the broker password, and the
#   recorder service control-tower-recorder.service, run as the system user control-tower.
#
#   bash install.sh [--prefix DIR] [--root DIR] [--no-systemd] [--uninstall]
#
# --root DIR puts the system paths (etc, usr/share, usr/local/bin) under DIR (for a test
# or an image being prepared); --no-systemd writes the unit but creates no user and
# neither enables nor starts the service. --uninstall removes all of it except the
# configuration (/etc/control-tower) and the data (/var/lib/control-tower).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/control-tower
root=
systemd=yes
action=install
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --no-systemd) systemd=no; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac
etc=$root/etc/control-tower
unit=$root/etc/systemd/system/control-tower-recorder.service
desktop=$root/usr/share/applications/control-tower.desktop
icons=$root/usr/share/icons/hicolor
bin=$root/usr/local/bin/control-tower
service_user=control-tower

# The tarball holds the bundle and these files side by side; a checkout has them in
# dist/, installer/ and resources/icons/.
find_file() {
    local name
    for name in "$@"; do
        if [ -e "$name" ]; then echo "$name"; return; fi
    done
    echo "install.sh: $1 is missing (run it from the unpacked tarball)" >&2
    exit 2
}

if [ "$systemd" = yes ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run it as root (or with --root DIR --no-systemd for a test)" >&2
    exit 2
fi

if [ "$action" = uninstall ]; then
    if [ "$systemd" = yes ] && command -v systemctl >/dev/null; then
        systemctl disable --now control-tower-recorder.service 2>/dev/null || true
    fi
    rm -f "$unit" "$desktop" "$bin" "$icons/scalable/apps/control-tower.svg" \
        "$icons/256x256/apps/control-tower.png"
    # Only a folder that holds the bundle: never a prefix given by mistake.
    if [ -x "$prefix/control-tower" ] && [ -d "$prefix/_internal" ]; then
        rm -rf "$prefix"
    fi
    if [ "$systemd" = yes ]; then
        command -v systemctl >/dev/null && systemctl daemon-reload || true
        if id "$service_user" >/dev/null 2>&1; then userdel "$service_user" || true; fi
    fi
    echo "control tower removed; kept the configuration ($etc) and the data (/var/lib/control-tower)"
    exit 0
fi

bundle=$(find_file "$here/control-tower" "$here/../dist/control-tower")
toml=$(find_file "$here/tower.toml")
unit_template=$(find_file "$here/control-tower-recorder.service")
desktop_template=$(find_file "$here/control-tower.desktop")
svg=$(find_file "$here/control-tower.svg" "$here/../resources/icons/control-tower.svg")
png=$(find_file "$here/control-tower.png" "$here/../resources/icons/control-tower.png")
fill() { sed -e "s|@PREFIX@|$prefix|g" -e "s|@ETC@|/etc/control-tower|g" "$1"; }

# The bundle: a fresh copy (an upgrade replaces the old one whole).
mkdir -p "$(dirname "$prefix")"
rm -rf "$prefix.new"
cp -a "$bundle" "$prefix.new"
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
mkdir -p "$(dirname "$bin")"
ln -sfn "$prefix/control-tower" "$bin"

mkdir -p "$(dirname "$desktop")" "$icons/scalable/apps" "$icons/256x256/apps"
fill "$desktop_template" > "$desktop"
install -m 0644 "$svg" "$icons/scalable/apps/control-tower.svg"
install -m 0644 "$png" "$icons/256x256/apps/control-tower.png"

mkdir -p "$etc"
if [ ! -e "$etc/tower.toml" ]; then
    install -m 0644 "$toml" "$etc/tower.toml"
else
    echo "kept the existing $etc/tower.toml"
fi
if [ ! -e "$etc/recorder.env" ]; then
    printf '%s\n' "# The recorder service's environment (systemd EnvironmentFile): the broker" \
        "# password and any TOWER_<SECTION>__<KEY> override. Readable by root and the service." \
        "# TOWER_BROKER_PASSWORD=" > "$etc/recorder.env"
    chmod 0640 "$etc/recorder.env"
fi

mkdir -p "$(dirname "$unit")"
fill "$unit_template" > "$unit"
if [ "$systemd" = yes ]; then
    if ! id "$service_user" >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/control-tower --no-create-home \
            --shell /usr/sbin/nologin "$service_user"
    fi
    chgrp "$service_user" "$etc/recorder.env"
    systemctl daemon-reload
    systemctl enable control-tower-recorder.service
    echo "recorder: systemctl start control-tower-recorder (after editing $etc/tower.toml)"
fi
echo "installed $("$prefix/control-tower" --version 2>/dev/null || echo 'control-tower (version unknown)') in $prefix"
