"""The ftc plugin uses the same door as a third-party plugin: it imports nothing of
cidrep but ``cidrep.contract`` (its own modules aside)."""

from __future__ import annotations

import ast
from pathlib import Path

import cidrep_plugins.ftc


def test_the_plugin_imports_nothing_of_cidrep_but_the_contract():
    folder = Path(cidrep_plugins.ftc.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "checker.py", "csvfile.py", "sample.py"}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name == "cidrep" or name.startswith("cidrep."):
                    assert name == "cidrep.contract", f"{module.name} imports {name}"
