"""``installer/install.sh`` into a temporary prefix and root, then ``--uninstall``.

The bundle is a stand-in (a script answering ``--version``): what is checked here is where
install.sh puts each file, that it keeps an edited configuration, and what --uninstall
leaves. The real bundle runs in test_bundle.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.foundation.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "installer" / "install.sh"


def stand_in_bundle(folder: Path) -> Path:
    """A folder shaped like dist/control-tower: the program and its _internal/."""
    (folder / "_internal").mkdir(parents=True)
    program = folder / "control-tower"
    program.write_text("#!/bin/sh\necho 'control-tower 0.1.0 (commit test)'\n")
    program.chmod(0o755)
    return folder


def unpacked_tarball(tmp_path: Path) -> Path:
    """The tarball's layout (build.sh): install.sh and its files beside the bundle."""
    here = tmp_path / "control-tower-0.1.0"
    stand_in_bundle(here / "control-tower")
    for name in ("install.sh", "tower.toml", "control-tower-recorder.service"):
        shutil.copy(ROOT / "installer" / name, here)
    shutil.copy(ROOT / "installer" / "control-tower.desktop", here)
    for name in ("control-tower.svg", "control-tower.png"):
        shutil.copy(ROOT / "resources" / "icons" / name, here)
    return here


def install(here: Path, prefix: Path, root: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(here / "install.sh"), "--prefix", str(prefix), "--root", str(root),
         "--no-systemd", *more],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_install_puts_each_part_in_place_and_uninstall_keeps_configuration(
    tmp_path: Path,
) -> None:
    here = unpacked_tarball(tmp_path)
    prefix, root = tmp_path / "opt" / "control-tower", tmp_path / "root"
    done = install(here, prefix, root)
    assert done.returncode == 0, done.stderr
    assert "installed control-tower 0.1.0 (commit test) in" in done.stdout
    assert (prefix / "control-tower").is_file() and (prefix / "_internal").is_dir()
    command = root / "usr" / "local" / "bin" / "control-tower"
    assert command.resolve() == (prefix / "control-tower").resolve()

    desktop = (root / "usr/share/applications/control-tower.desktop").read_text()
    assert f"Exec={prefix}/control-tower --config /etc/control-tower/tower.toml" in desktop
    assert "Icon=control-tower\n" in desktop
    icons = root / "usr" / "share" / "icons" / "hicolor"
    assert (icons / "scalable/apps/control-tower.svg").read_text().startswith("<svg")
    assert (icons / "256x256/apps/control-tower.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    unit = (root / "etc/systemd/system/control-tower-recorder.service").read_text()
    assert (
        f"ExecStart={prefix}/control-tower --headless --config /etc/control-tower/tower.toml\n"
        in unit
    )
    assert "User=control-tower\n" in unit and "Restart=on-failure\n" in unit
    assert "EnvironmentFile=-/etc/control-tower/recorder.env\n" in unit
    assert "@" not in unit  # every placeholder filled

    etc = root / "etc" / "control-tower"
    # The default configuration is commented and loads as it is.
    assert load_settings(etc / "tower.toml").broker.host == ""
    assert "password is never in this file" in (etc / "tower.toml").read_text()
    assert (etc / "recorder.env").stat().st_mode & 0o777 == 0o640

    # Installed again (an upgrade): an edited configuration stays as it is.
    (etc / "tower.toml").write_text('[broker]\nhost = "mqtt.site.local"\n')
    again = install(here, prefix, root)
    assert again.returncode == 0, again.stderr
    assert "kept the existing" in again.stdout
    assert load_settings(etc / "tower.toml").broker.host == "mqtt.site.local"

    gone = install(here, prefix, root, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not prefix.exists() and not command.is_symlink()
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["etc/control-tower/recorder.env", "etc/control-tower/tower.toml"]


def test_the_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit file is not verified")
    here = unpacked_tarball(tmp_path)
    prefix, root = tmp_path / "opt" / "control-tower", tmp_path / "root"
    assert install(here, prefix, root).returncode == 0
    unit = root / "etc" / "systemd" / "system" / "control-tower-recorder.service"
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # verify prints what it finds wrong without always failing: nothing about this unit.
    assert "control-tower-recorder.service" not in done.stderr, done.stderr


def test_install_refuses_a_relative_prefix_and_an_unknown_option(tmp_path: Path) -> None:
    here = unpacked_tarball(tmp_path)
    relative = install(here, Path("opt"), tmp_path / "root")
    assert relative.returncode == 2 and "absolute" in relative.stderr
    unknown = install(here, tmp_path / "opt", tmp_path / "root", "--frobnicate")
    assert unknown.returncode == 2 and "unknown option --frobnicate" in unknown.stderr
