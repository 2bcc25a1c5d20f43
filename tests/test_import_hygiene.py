"""Layering: the domain core runs headless. `automation/` and `mail/` import neither Textual nor
SQLAlchemy (GUIDE "Layers"); import-linter checks every contract in pyproject.toml."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    return [f"{package}.{info.name}" for info in pkgutil.walk_packages([str(ROOT / package)])]


def test_domain_core_imports_neither_textual_nor_sqlalchemy() -> None:
    modules = ["automation", "mail", *_modules("automation"), *_modules("mail")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'textual', 'sqlalchemy', 'app', 'widgets', 'storage'})\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert proc.stdout.strip() == ""


def test_import_contracts_hold() -> None:
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(linter).exists():
        pytest.fail("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([linter], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout


def test_mypy_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout


PRODUCT = ("app", "widgets", "runtime", "storage", "automation", "mail", "demo")


def _import_cycles(graph: Any, modules: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def imported(module: str) -> Any:
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    for root in modules:
        if root in index:
            continue
        work = [(root, imported(root))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, imported(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycle_among_product_modules() -> None:
    # Issue 11: counting imports inside functions and under `if TYPE_CHECKING:` (grimp reads
    # every import statement of a module).
    import grimp

    packages = [name for name in PRODUCT if (ROOT / name).is_dir()]
    graph = grimp.build_graph(*packages, cache_dir=None)
    cycles = _import_cycles(graph, sorted(graph.modules))
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


def test_runtime_runs_without_textual() -> None:
    modules = ["runtime", *_modules("runtime")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'app', 'widgets'})\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert proc.stdout.strip() == ""
