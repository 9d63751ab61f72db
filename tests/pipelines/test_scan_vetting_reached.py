"""`allow` entries: what else building or first using an object runs (red-team finding E).

Each class below has builders that only assign attributes, yet runs code when a pickle builds
it: a property setter, attribute lookup, finalization, container methods the unpickler calls,
hashing, numpy's finalizer, a metaclass, or a value whose evaluation calls a dunder method.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from mlgate.errors import ConfigError
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy

CLASSES = '''
import subprocess


class Setter:
    def __init__(self, command):
        self.command = command

    @property
    def command(self):
        return self._command

    @command.setter
    def command(self, value):
        subprocess.run(value, shell=True)


class SlotSetter:
    """No builder sets `hook`: BUILD's slot state does (no __setstate__)."""

    @property
    def hook(self):
        return None

    @hook.setter
    def hook(self, value):
        subprocess.run(value, shell=True)


class Runner:
    def __set__(self, instance, value):
        subprocess.run(value, shell=True)

    def __get__(self, instance, owner):
        return None


class Described:
    hook = Runner()


class Lazy:
    def __getattr__(self, name):
        subprocess.run(self.__dict__.get("hook", "true"), shell=True)


class Looked:
    def __getattribute__(self, name):
        return object.__getattribute__(self, name)


class Finalized:
    def __del__(self):
        subprocess.run(self.hook, shell=True)


class Appended:
    def append(self, item):
        subprocess.run(item, shell=True)


class Extended:
    def extend(self, items):
        pass


class Added:
    def add(self, item):
        pass


class Stored:
    def __setitem__(self, key, value):
        pass


class Hashed:
    def __hash__(self):
        return 1


class Compared:
    def __eq__(self, other):
        return True


class Finalizes:
    def __array_finalize__(self, obj):
        pass


class Meta(type):
    def __call__(cls, *args):
        return subprocess.run(args[0], shell=True)


class Made(metaclass=Meta):
    pass


class Plain:
    """Accepted: assignments of parameters; a setter that only assigns."""

    def __init__(self, scale, offset=0.0):
        self.scale = scale
        self.offset = offset
        self.seen = {}

    @property
    def offset(self):
        return self._offset

    @offset.setter
    def offset(self, value):
        self._offset = value
'''

EXPRESSIONS = {
    "Formatted": 'f"{value}"',
    "Equal": "value == 1",
    "Negated": "-value",
    "Either": "value or 1",
    "Chosen": "1 if value else 2",
    "Unpacked": "[*value]",
    "Keyed": "{value: 1}",
    "Merged": "{**value}",
    "Member": "{value}",
}


def _module(folder: Path) -> None:
    text = CLASSES + "".join(
        f"\n\nclass {name}:\n    def __init__(self, value):\n        self.x = {expression}\n"
        for name, expression in EXPRESSIONS.items()
    )
    (folder / "featlib_red.py").write_text(textwrap.dedent(text))


@pytest.fixture(autouse=True)
def featlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "featlib_red", raising=False)


def _refusal(name: str) -> str:
    with pytest.raises(ConfigError) as caught:
        build_policy(ScanConfig(allow=(f"featlib_red.{name}",)))
    prefix = f"allow entry 'featlib_red.{name}' cannot be allowed: "
    assert str(caught.value).startswith(prefix)
    return str(caught.value).removeprefix(prefix)


def _reached(method: str) -> str:
    return f"its {method} is Python code the unpickler or a first use reaches"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Setter", "its setter of command runs code beyond setting attributes"),
        ("SlotSetter", "its setter of hook runs code beyond setting attributes"),
        ("Described", "its descriptor hook's __set__ runs code beyond setting attributes"),
        ("Lazy", _reached("__getattr__")),
        ("Looked", _reached("__getattribute__")),
        ("Finalized", _reached("__del__")),
        ("Appended", _reached("append")),
        ("Extended", _reached("extend")),
        ("Added", _reached("add")),
        ("Stored", _reached("__setitem__")),
        ("Hashed", _reached("__hash__")),
        ("Compared", _reached("__eq__")),
        ("Finalizes", _reached("__array_finalize__")),
        ("Made", "its metaclass defines __call__: calling the class runs it"),
        *((name, "its __init__ runs code beyond setting attributes") for name in EXPRESSIONS),
    ],
)
def test_classes_that_run_code_when_built_or_used(name: str, why: str) -> None:
    assert _refusal(name) == why


def test_a_plain_class_with_a_plain_setter_is_accepted() -> None:
    policy = build_policy(ScanConfig(allow=("featlib_red.Plain",)))
    assert policy.allowlist.rules[-1].name == "Plain"
