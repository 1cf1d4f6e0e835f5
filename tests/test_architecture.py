"""Checked layering rules (ARCHITECTURE.md, "Layers").

The core (``simulator`` outside its ``gui``/``app`` sub-packages) and
``hardware`` must import with PySide6 and VTK unavailable.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter so nothing Qt/VTK is imported already.
_IMPORT_CORE_WITHOUT_QT_VTK = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import importlib.util
    import pkgutil
    import sys

    sys.path.insert(0, {root!r})

    BLOCKED_PREFIXES = ("PySide6", "shiboken6", "vtk")  # vtk* covers vtkmodules*
    # Packages allowed to use Qt/VTK: any dotted-name part equal to these.
    EXEMPT_PARTS = {{"gui", "app"}}


    class BlockQtVtk(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.startswith(BLOCKED_PREFIXES):
                raise ImportError(
                    f"{{fullname}} is blocked: the core must not import Qt or VTK"
                )
            return None


    sys.meta_path.insert(0, BlockQtVtk())


    def exempt(name):
        return any(part in EXEMPT_PARTS for part in name.split(".")[1:])


    def import_tree(name, path, imported):
        # pkgutil.walk_packages would import an exempt package to recurse into
        # it; iter_modules lets us skip it before importing anything.
        for info in pkgutil.iter_modules(path, name + "."):
            if exempt(info.name):
                continue
            module = importlib.import_module(info.name)
            imported.append(info.name)
            if info.ispkg:
                import_tree(info.name, module.__path__, imported)


    imported = []
    for top, required in (("simulator", True), ("hardware", False)):
        if importlib.util.find_spec(top) is None:
            if required:
                raise SystemExit(f"package {{top!r}} not found")
            continue
        package = importlib.import_module(top)
        imported.append(top)
        import_tree(top, package.__path__, imported)

    if not any(name.startswith("simulator.") for name in imported):
        raise SystemExit("no simulator modules found to check")
    print("\\n".join(imported))
    """
).format(root=str(PROJECT_ROOT))


def test_core_imports_no_qt_and_no_vtk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_CORE_WITHOUT_QT_VTK],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "importing the core with PySide6/VTK blocked failed "
        f"(exit {result.returncode}):\n{result.stderr}"
    )


def test_main_help_runs() -> None:
    main = PROJECT_ROOT / "main.py"
    if not main.exists():
        pytest.skip("main.py does not exist yet")
    result = subprocess.run(
        [sys.executable, str(main), "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"main.py --help exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
