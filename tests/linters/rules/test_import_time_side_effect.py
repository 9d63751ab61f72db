"""MLG301 edge cases beyond the rule's examples."""

from __future__ import annotations

import pytest
from rule_findings import findings, messages


@pytest.mark.parametrize(
    "path", ["__main__.py", "pkg/__main__.py", "tests/conftest.py", "setup.py", "a\\setup.py"]
)
def test_exempt_files(path: str) -> None:
    assert findings("print('hello')\n", path) == []


def test_other_files_are_checked() -> None:
    assert findings("print('hello')\n", "pkg/main_.py") == [(1, "MLG301")]
    assert findings("print('hello')\n", "setup_.py") == [(1, "MLG301")]


@pytest.mark.parametrize(
    "guard",
    [
        "if __name__ == '__main__':",
        "if '__main__' == __name__:",
        "if TYPE_CHECKING:",
        "if typing.TYPE_CHECKING:",
    ],
)
def test_guards_skip_their_body_but_not_their_else(guard: str) -> None:
    source = (
        f"import typing\nfrom typing import TYPE_CHECKING\n{guard}\n    main()\nelse:\n    run()\n"
    )
    assert findings(source) == [(6, "MLG301")]


@pytest.mark.parametrize(
    "test", ["if __name__ != '__main__':", "if __name__ == '__main__' == x:", "if main():"]
)
def test_other_ifs_are_checked(test: str) -> None:
    expected = [(1, "MLG301"), (2, "MLG301")] if "main()" in test else [(2, "MLG301")]
    assert findings(f"{test}\n    run()\n") == expected


def test_definitions_are_not_checked() -> None:
    source = """\
        import functools


        @functools.lru_cache(maxsize=load())
        def f(x=load()):
            return load()


        class Model(make_base()):
            weights = load()


        async def g():
            await load()


        key = lambda row: load(row)
        """
    assert findings(source) == []


def test_blocks_and_their_headers() -> None:
    source = """\
        try:
            import numpy
        except ImportError:
            numpy = None
            warn()
        else:
            numpy.seterr(all="raise")
        finally:
            done()
        for name in NAMES:
            register(name)
        while next_item():
            pass
        with lock:
            setup()
        match fetch():
            case {"x": x} if check(x):
                use(x)
            case _:
                pass
        """
    assert findings(source) == [
        (5, "MLG301"),
        (7, "MLG301"),
        (9, "MLG301"),
        (11, "MLG301"),
        (12, "MLG301"),
        (15, "MLG301"),
        (16, "MLG301"),
        (17, "MLG301"),
        (18, "MLG301"),
    ]


def test_one_finding_per_statement_at_its_first_impure_call() -> None:
    source = "CONFIG = dict(\n    a=read(),\n    b=read(),\n)\nx = (1, 2)\nPAIRS = sorted({})\n"
    assert findings(source) == [(2, "MLG301")]


def test_pure_calls_string_methods_and_typing_extensions() -> None:
    source = """\
        import dataclasses as dc
        from typing_extensions import TypeVar

        import pytest

        T = TypeVar("T")
        NAMES = ", ".join(["a", "b"])
        TITLE = f"{NAMES}".upper()
        pytestmark = pytest.mark.skipif(True, reason="demo")
        FIELD = dc.field(default=1)
        """
    assert findings(source) == []


def test_pure_call_options() -> None:
    source = "import logging\nimport mlflow\n\nlog = logging.getLogger()\nmlflow.autolog()\n"
    assert findings(source) == [(5, "MLG301")]
    assert findings(source, extend_pure_calls=("mlflow.*",)) == []
    assert findings(source, pure_calls=()) == [(4, "MLG301"), (5, "MLG301")]


def test_message_names_the_call_shortened() -> None:
    source = "client.very_long_attribute_name.another_long_attribute.connect()\nx.y()\n"
    assert messages(source) == [
        "`client.very_long_attribute_name.anoth...(...)` runs at import; call it from a "
        "function or the `__main__` guard",
        "`x.y(...)` runs at import; call it from a function or the `__main__` guard",
    ]


def test_methods_of_literals_builtin_types_and_local_containers() -> None:
    source = """\
        import numpy as np
        import numpy.random as random
        from pkg.labels import LABELS

        LABEL2ID = {"cat": 0, "dog": 1}
        NAMES = LABELS.copy()
        ID2LABEL = {v: k for k, v in LABEL2ID.items()}
        KEYS = {}.keys()
        TABLE = bytes.maketrans(b"ab", b"ba")
        EMPTY = dict.fromkeys(["a"])
        NAME = LABEL2ID.get("cat")
        COPY = np.copy(LABEL2ID)
        SEEDED = random.get(0)
        OPENED = open.get()
        STATE = LABEL2ID.pop("cat")
        """
    assert findings(source) == [(12, "MLG301"), (13, "MLG301"), (14, "MLG301"), (15, "MLG301")]
