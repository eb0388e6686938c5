"""Every built-in plugin is written like a third-party one.

- it imports nothing from cidrep but ``cidrep.contract`` (the public door);
- importing it loads no HTTP client (``cidrep --help`` stays fast).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
BUILT_IN = sorted(p.name for p in PLUGINS.iterdir() if (p / "__init__.py").exists())


def test_the_built_ins_are_all_here():
    assert {"ftc", "fcc", "ipqs", "tellows", "telnyx", "twilio", "usacallerlookup"} <= set(BUILT_IN)


@pytest.mark.parametrize("plugin", BUILT_IN)
def test_a_plugin_imports_nothing_from_cidrep_but_the_contract(plugin):
    for path in sorted((PLUGINS / plugin).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "cidrep" or name == "cidrep.contract", (
                    f"{plugin}/{path.name} imports {name}"
                )


@pytest.mark.parametrize("plugin", BUILT_IN)
def test_importing_a_plugin_does_not_load_httpx(plugin):
    code = f"import sys, cidrep_plugins.{plugin}; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", plugin
