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
        "def outer():\n    class Inner:\n        global A\n        A = 1\n\n"
        "        def method(self):\n            global B\n"
        "            nonlocal_free = lambda: 1\n    return Inner\n"
    )
    assert findings(source) == [(3, "MLG302"), (7, "MLG302")]
    assert messages(source)[0] == (
        "`global A` hides module state in the function; pass it in and return it"
    )


def test_nonlocal_is_not_reported() -> None:
    source = "def outer():\n    x = 1\n\n    def inner():\n        nonlocal x\n        x = 2\n"
    assert findings(source + "    inner()\n    return x\n") == []


def test_a_read_only_global_is_told_it_is_not_needed() -> None:
    source = (
        "A = B = 1\n\ndef read():\n    global A\n    return [A for A in range(3)], A\n\n"
        "def both():\n    global A, B\n    A += 1\n    return B\n\n"
        "def binders():\n    global C, D, E, F\n    def C(): pass\n    import D\n"
        "    try:\n        pass\n    except OSError as E:\n        pass\n    del F\n"
    )
    assert findings(source) == [(4, "MLG302"), (8, "MLG302"), (13, "MLG302")]
    assert messages(source) == [
        "`global A` is never assigned here: reading needs no `global`; remove it",
        "`global A, B` hides module state in the function; pass it in and return it"
        " (`B` is only read and needs no `global`)",
        "`global C, D, E, F` hides module state in the function; pass it in and return it",
    ]


def test_a_lambda_default_or_decorator_binds_in_the_enclosing_scope() -> None:
    source = (
        "def outer():\n    global A, B\n    f = lambda x=(A := 1): x\n"
        "    @(B := staticmethod)\n    def inner(): pass\n    return f, inner\n"
    )
    assert messages(source) == [
        "`global A, B` hides module state in the function; pass it in and return it"
    ]


def test_a_global_sharing_a_line_with_other_statements() -> None:
    source = "A = 0\n\ndef f(): x = 1; global A; A = x\n\nclass C: global B; B = 1\n"
    assert messages(source) == [
        "`global A` hides module state in the function; pass it in and return it"
    ]
