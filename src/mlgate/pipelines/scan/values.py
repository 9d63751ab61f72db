"""The inert values of the symbolic pickle machine."""

from __future__ import annotations

from typing import Any, NamedTuple


class Global(NamedTuple):
    """What a GLOBAL, INST or STACK_GLOBAL opcode imports."""

    module: str
    name: str


class Obj:
    """An object the pickle would build: its class (when known), arguments and state."""

    __slots__ = ("args", "cls", "init", "state")

    def __init__(self, cls: object, args: object, init: bool = True) -> None:
        self.cls = cls
        self.args = args
        self.init = init  # whether building it calls the class (`__init__` runs)
        self.state: object = None


class Unknown:
    """A value the machine does not track (sets, results of calls, buffers...).

    The class itself is the marker: it is never instantiated.
    """


UNKNOWN: Any = Unknown
