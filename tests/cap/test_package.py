"""hub.cap stands on its own: its modules import only each other (and one stdlib-only leaf)."""

from __future__ import annotations

import ast
from pathlib import Path

import hub.cap

PACKAGE = Path(hub.cap.__file__).parent
FIRST_PARTY = ("hub", "channels", "partners")
# The characters XML cannot carry are declared once, there, for input checks and writers.
ALLOWED_OUTSIDE = {"partners.validation"}


def first_party_imports(source: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in FIRST_PARTY}


def test_the_cap_package_imports_nothing_else_from_the_hub() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "rules.py", "write.py", "signature.py"}
    outside = {f"{m.name}: {name}" for m in modules for name in first_party_imports(m)
               if name != "hub.cap" and not name.startswith("hub.cap.")
               and name not in ALLOWED_OUTSIDE}
    assert outside == set()
