"""MLG302 edge cases beyond the rule's examples."""

from __future__ import annotations

from rule_findings import findings, messages


def test_module_level_globals_are_no_ops_and_not_reported() -> None:
    source = (
        "import sys\n\nif sys.platform:\n    global A\nelse:\n    try:\n        global B\n"
        "    finally:\n        pass\n\nclass C:\n    global D\n"
    )
    assert findings(source) == []


def test_functions_at_any_depth() -> None:
    source = (
        "def outer():\n    class Inner:\n        global A\n\n        def method(self):\n"
        "            global B\n            nonlocal_free = lambda: 1\n    return Inner\n"
    )
    assert findings(source) == [(3, "MLG302"), (6, "MLG302")]
    assert messages(source)[0] == (
        "`global A` hides module state in the function; pass it in and return it"
    )


def test_nonlocal_is_not_reported() -> None:
    source = "def outer():\n    x = 1\n\n    def inner():\n        nonlocal x\n        x = 2\n"
    assert findings(source + "    inner()\n    return x\n") == []
