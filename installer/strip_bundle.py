"""Strips the symbol tables off the bundle's shared libraries (installer/build.sh runs it).

PyInstaller's own strip option strips every binary, and that breaks the libraries that
auditwheel vendored and patchelf rewrote: NumPy's OpenBLAS then fails to load with
"ELF load command address/offset not page-aligned". So each library that still has a
symbol table is stripped into a copy, and the copy replaces it only when its loadable
segments are still aligned as the dynamic loader demands; the others are kept whole.
Qt's libraries come stripped and are not touched.

Usage: python installer/strip_bundle.py dist/control-tower
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ELF_MAGIC = b"\x7fELF\x02\x01"  # 64-bit little-endian: the bundle is linux-x86_64
PT_LOAD = 1
SHT_SYMTAB = 2


def _headers(data: bytes) -> tuple[int, int, int, int, int, int]:
    """(phoff, shoff, phentsize, phnum, shentsize, shnum) of a 64-bit ELF header."""
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    return phoff, shoff, phentsize, phnum, shentsize, shnum


def has_symbol_table(data: bytes) -> bool:
    _phoff, shoff, _pe, _pn, shentsize, shnum = _headers(data)
    return any(
        struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == SHT_SYMTAB
        for i in range(shnum)
    )


def segments_aligned(data: bytes) -> bool:
    """What ld.so checks: a loadable segment's offset and address agree modulo its alignment."""
    phoff, _shoff, phentsize, phnum, _se, _sn = _headers(data)
    for i in range(phnum):
        kind, _flags, offset, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        (align,) = struct.unpack_from("<Q", data, phoff + i * phentsize + 0x30)
        if kind == PT_LOAD and align > 1 and offset % align != vaddr % align:
            return False
    return True


def strip_one(path: Path, scratch: Path) -> int:
    """Bytes saved on one file (0 when it is kept as it was)."""
    data = path.read_bytes()
    if not data.startswith(ELF_MAGIC) or not has_symbol_table(data):
        return 0
    copy = scratch / "stripped"
    shutil.copy2(path, copy)
    subprocess.run(["strip", "--strip-unneeded", str(copy)], check=True)
    stripped = copy.read_bytes()
    if not segments_aligned(stripped):
        print(f"strip_bundle: kept {path} (stripping misaligns its segments)")
        return 0
    shutil.copy2(copy, path)
    return len(data) - len(stripped)


def main(bundle: Path) -> None:
    libraries = [
        path
        for path in sorted(bundle.rglob("*"))
        if path.is_file() and not path.is_symlink() and ".so" in path.name
    ]
    with tempfile.TemporaryDirectory() as scratch:
        saved = sum(strip_one(path, Path(scratch)) for path in libraries)
    print(f"strip_bundle: {saved / 2**20:.1f} MB of symbols stripped")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
