"""installer/strip_bundle.py on the venv's own wheels' libraries, without building a bundle.

NumPy's OpenBLAS is the library auditwheel rewrote that `strip` breaks: it must come out
byte for byte as it went in, and still load; a library strip handles must shrink and load.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("strip") is None, reason="binutils' strip missing")


def strip_bundle() -> ModuleType:
    """installer/strip_bundle.py, a script rather than a package module."""
    spec = importlib.util.spec_from_file_location(
        "strip_bundle", ROOT / "installer" / "strip_bundle.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def loads(library: Path) -> bool:
    """Whether the dynamic loader takes it, in a process that has not loaded it yet."""
    code = "import ctypes, sys; ctypes.CDLL(sys.argv[1])"
    return subprocess.run([sys.executable, "-c", code, str(library)], timeout=60).returncode == 0


def test_strip_shrinks_what_it_can_and_keeps_openblas_whole_and_loadable(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(Path(numpy.__file__).parents[1] / "numpy.libs", bundle / "numpy.libs")
    openblas = next((bundle / "numpy.libs").glob("libscipy_openblas*.so"))
    found = importlib.util.find_spec("yaml._yaml")  # PyYAML's Cython extension
    assert found is not None and found.origin is not None
    extension = bundle / "yaml" / Path(found.origin).name
    extension.parent.mkdir()
    shutil.copy(found.origin, extension)
    openblas_before, extension_size = openblas.read_bytes(), extension.stat().st_size

    strip_bundle().main(bundle)

    assert openblas.read_bytes() == openblas_before
    assert extension.stat().st_size < extension_size * 0.5  # Cython's symbols are most of it
    assert loads(openblas) and loads(extension)
