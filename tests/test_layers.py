"""No lower layer imports a higher one, not even inside a function body.

Every ``import``/``from ... import`` of every module under ``src/reglab`` (read with ``ast``, so
imports inside functions count) is checked against :data:`LAYERS`; the order and why it differs
from the design picture are in docs/contracts.md ("Layers").
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "reglab"

#: Lowest first. Modules in one group may import each other; a module may import any group below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("reglab", "errors", "_validate", "_extras", "_policy_names", "registry"),
    ("functional",),
    ("nn",),
    ("losses",),
    ("augment",),
    ("penalties",),
    ("retrofit",),
    ("uncertainty",),
    ("training",),
    ("techniques",),
    ("integrations",),
    ("data",),
    ("models",),
    ("experiments",),
    ("analysis",),
    ("report",),
    ("studies",),
    ("lab",),
    ("cli",),
    ("__main__",),
)
RANK = {name: i for i, group in enumerate(LAYERS) for name in group}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return "reglab" if len(parts) == 1 else parts[1]


def _imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported reglab module) for every import statement, wherever it is."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "reglab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "reglab":
                continue
            if base == "reglab":  # `from reglab import nn` imports the subpackage reglab.nn
                out += [(node.lineno, f"reglab.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, base))
    return out


def _violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        source = _layer(module)
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, target in _imported(tree, module, path.name == "__init__.py"):
            layer = _layer(target)
            if layer not in RANK:
                layer = "reglab"  # a name of the root package (`from reglab import get`)
            if RANK[layer] > RANK[source]:
                found.append(f"{module}:{line} ({source}) imports {target} ({layer})")
    return found


def test_every_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    packages = {"reglab" if p == "__init__" else p for p in packages}
    assert packages <= set(RANK), sorted(packages - set(RANK))


def test_no_lower_layer_imports_a_higher_one():
    assert _violations() == []


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    fake = tmp_path / "reglab"
    (fake / "nn").mkdir(parents=True)
    (fake / "nn" / "__init__.py").write_text("def f():\n    from reglab.training import Trainer\n")
    (fake / "nn" / "x.py").write_text("from ..experiments import spec\nimport reglab.cli.app\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert _violations() == [
        "reglab.nn:2 (nn) imports reglab.training (training)",
        "reglab.nn.x:1 (nn) imports reglab.experiments (experiments)",
        "reglab.nn.x:2 (nn) imports reglab.cli.app (cli)",
    ]
