"""The inert values of the symbolic pickle machine."""

from __future__ import annotations

from typing import Any, NamedTuple


class Global(NamedTuple):
    """What a GLOBAL, INST or STACK_GLOBAL opcode imports."""

    module: str
    name: str


class Obj:
    """An object the pickle would build: its class (when known), arguments and state."""

    __slots__ = ("args", "cls", "state")

    def __init__(self, cls: object, args: object) -> None:
        self.cls = cls
        self.args = args
        self.state: object = None


class Unknown:
    """A value the machine does not track (sets, results of calls, buffers...).

    The class itself is the marker: it is never instantiated.
    """


UNKNOWN: Any = Unknown
