"""hub.cap.signature's reach inside signxml: the methods it overrides keep the shape it assumes.

signxml calls `_get_signature(root)` and `_c14n(nodes, algorithm=..., inclusive_ns_prefixes=...)`
on itself; if a release renames or reshapes either, SignxmlHooks' override would be skipped or
called wrongly. The round trips that need each hook are in test_signature.py: the
countersignature (`_get_signature`) and the USGS sample's inclusive c14n (`_c14n`).
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from signxml import XMLVerifier

from hub.cap.signature import SIGNXML_CHECKED, SignxmlHooks

HOOKS = ("_get_signature", "_c14n")


def shape(function: object) -> list[tuple[str, object, object]]:
    assert callable(function)
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", HOOKS)
def test_each_hook_overrides_a_signxml_method_of_the_same_shape(name: str) -> None:
    where = (f"signxml {version('signxml')}, hooks checked against {SIGNXML_CHECKED}: "
             f"see SignxmlHooks in hub/cap/signature.py")
    theirs = getattr(XMLVerifier, name, None)
    assert theirs is not None, f"XMLVerifier.{name} is gone ({where})"
    assert shape(vars(SignxmlHooks)[name]) == shape(theirs), f"{name} changed shape ({where})"


def test_the_hooks_are_the_only_signxml_internals_overridden() -> None:
    private = {name for name in vars(SignxmlHooks)
               if name.startswith("_") and not name.startswith("__")}
    assert private == set(HOOKS)
