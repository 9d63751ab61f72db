"""Vet every public callable of the stdlib and the packs' libraries (a test helper, run alone).

`python vetting_census.py` prints one JSON object: `accepted` (names an `allow` entry may
name), `refused` (count), and `events`: for each accepted class, the audit events raised while
building it the way a pickle can (`cls(*args)` with strings, numbers and a callable, then
`__setstate__`), limited to the events that mean code ran: exec, compile, import, open,
os/subprocess/socket/ctypes calls, or the callable being called.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from mlgate.pipelines.scan.allowlist import never_allowed, vet

LIBRARIES = ("numpy", "sklearn", "joblib", "pandas", "scipy")
SKIP = frozenset({"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle", "__main__"})
RISKY_EVENTS = ("exec", "compile", "import", "open", "os.", "subprocess.", "socket.", "ctypes.")
CALLED: list[str] = []


def _modules() -> Iterator[Any]:
    names = sorted(name for name in sys.stdlib_module_names if name not in SKIP)
    for name in [*names, *LIBRARIES]:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                yield importlib.import_module(name)
            except Exception:  # noqa: BLE001 - not importable here (platform, extras)
                continue


def public_callables() -> Iterator[tuple[str, str, object]]:
    """(module, name, object) of every public callable defined in the modules."""
    for module in _modules():
        for name, value in sorted(vars(module).items()):
            if not name.startswith("_") and callable(value):
                yield module.__name__, name, value


def _marker(*args: object, **kwargs: object) -> None:
    CALLED.append("called")


def events_of(klass: type) -> list[str]:
    """Risky audit events while building `klass` as a pickle could."""
    seen: list[str] = []

    def hook(event: str, args: object) -> None:
        if event.startswith(RISKY_EVENTS):
            seen.append(event)

    HOOKS.append(hook)
    for args in ((), ("import os",), (1, "x"), (_marker,), (_marker, _marker, _marker)):
        with contextlib.suppress(Exception):  # wrong arguments: nothing was built, fine
            made = klass(*args)
            with contextlib.suppress(Exception):
                made.__setstate__({"x": _marker})
    HOOKS.pop()
    return seen + CALLED[:1]


HOOKS: list[Any] = []


def main() -> int:
    warnings.simplefilter("ignore")  # a warning reads source lines: an `open` we did not cause
    sys.addaudithook(lambda event, args: [hook(event, args) for hook in HOOKS])
    accepted, refused, events = [], 0, {}
    for module, name, value in list(public_callables()):
        if never_allowed(module, name) or vet(module, name):
            refused += 1
            continue
        accepted.append(f"{module}.{name}")
        CALLED.clear()
        found = events_of(value) if isinstance(value, type) else ["not a class"]
        if found:
            events[f"{module}.{name}"] = found
    print(json.dumps({"accepted": accepted, "refused": refused, "events": events}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
