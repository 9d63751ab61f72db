"""A symbolic pickle machine: reads opcodes as `pickletools.genops` does, never unpickles.

It mirrors CPython's unpickler stack, mark stack and memo exactly, but its values are inert:
literals, tuples, lists and dicts of literals, `Global(module, name)` for imports, `Obj` for
objects the pickle would build, and `UNKNOWN` for everything else. That is enough to resolve the
operands of `STACK_GLOBAL` wherever they come from (literals, the memo, `DUP`...), to report the
exact `module.name` of every import with its byte offset, and to size the raw array bytes joblib
writes between the opcodes of its pickles.
"""

from __future__ import annotations

import _compat_pickle
import time
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from mlgate.pipelines.scan import torch_calls
from mlgate.pipelines.scan.joblib_arrays import ArrayLayout, array_layout
from mlgate.pipelines.scan.reader import read_ops
from mlgate.pipelines.scan.source import LimitExceeded, Source, Undecompressable
from mlgate.pipelines.scan.values import UNKNOWN, Global, Obj


class Import(NamedTuple):
    """One import a pickle performs, at the byte offset of its opcode."""

    offset: int
    module: str
    name: str


class Problem(NamedTuple):
    """Something that makes a stream unsafe (`unsafe`), unreadable, or too big (`limit`)."""

    offset: int
    message: str
    kind: str = "unreadable"


class StreamResult(NamedTuple):
    """What one pickle stream imports, what is wrong with it, and the value it would return."""

    imports: list[Import]
    problems: list[Problem]
    value: object
    complete: bool = False
    arrays: bool = False
    payloads: tuple[tuple[int, bytes], ...] = ()


#: The class joblib pickles in place of each numpy array (compares equal to its `Global`).
WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
#: Loads a tensor's storage with `torch.load`: the payload is scanned, never trusted.
LOAD_FROM_BYTES = ("torch.storage", "_load_from_bytes")
_STRING_CLASSES = frozenset({("builtins", "str"), ("numpy", "str_")})
_RECONSTRUCTOR = ("copyreg", "_reconstructor")
_OBJECT = ("builtins", "object")
_FACTORIES = frozenset(
    {("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("copyreg", "__newobj_ex__")}
)


class Malformed(Exception):
    """The stream breaks the unpickler's rules; CPython would refuse it too."""


class TooManyOpcodes(Exception):
    """The opcode budget of the file is spent."""


class OverBudget(Exception):
    """The time or memory budget of the file is spent."""


#: Values the machine may hold at once (stack, memo and marks): about 150 bytes each.
MAX_VALUES = 4_000_000
#: Opcodes between two checks of the clock and of the values held.
_CHECK_EVERY = 4096


class Budget:
    """Opcodes, seconds and values left for one file (shared by all its streams)."""

    def __init__(self, opcodes: int, seconds: float = 20.0, values: int = MAX_VALUES) -> None:
        self.limit = opcodes
        self.left = opcodes
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.values = values
        self.copied = 0  # bytes decompressed into copies (read again by their content)

    def check(self, held: int) -> None:
        """Raise OverBudget when the file took too long or holds too many values."""
        if time.monotonic() > self.deadline:
            raise OverBudget(f"scanning took more than {self.seconds:g} s: not read to its end")
        if held > self.values:
            raise OverBudget(f"the pickle holds more than {self.values} values at once")


def scan_stream(stream: Source, budget: Budget, joblib: bool = False) -> StreamResult:
    """Read one pickle stream from the current position of `stream` up to its STOP.

    With `joblib`, the array data joblib writes after each `NumpyArrayWrapper` is stepped over
    the way `joblib.load` does (padding included, and checked to be what joblib writes).
    Without it, the stream is read the way `pickle.load` reads it.
    """
    machine = Machine(stream, budget, joblib)
    with warnings.catch_warnings():
        # pickletools warns about odd escapes in crafted string opcodes: data, not mlgate's news
        warnings.simplefilter("ignore", DeprecationWarning)
        execute(machine)
    return StreamResult(
        machine.imports,
        machine.problems,
        machine.value,
        machine.done,
        machine.arrays,
        tuple(machine.payloads),
    )


def execute(machine: Machine) -> None:
    """Run `machine` to its STOP, turning every way a stream can fail into a problem."""
    try:
        machine.run()
    except TooManyOpcodes:
        message = f"more than {machine.budget.limit} opcodes: raise max-opcodes to read it all"
        machine.problem(message, "limit")
    except (OverBudget, LimitExceeded) as err:
        machine.problem(f"{err}", "limit")
    except Malformed as err:
        machine.problem(f"malformed pickle: {err}")
    except Undecompressable as err:
        machine.problem(f"cannot decompress: {err}")
    except ValueError as err:
        machine.problem(_describe(err))
    except (MemoryError, OverflowError):
        # A length field asked genops to read more than memory holds: the value is crafted.
        machine.problem("malformed pickle: a length field is larger than any real data")


def _describe(err: ValueError) -> str:
    text = str(err)
    if any(sign in text for sign in ("exhausted", "remain", "no newline", "not enough data")):
        return "truncated pickle: the data ends before the STOP opcode"
    return f"not a valid pickle: {text}"


class Machine:
    """The unpickler's state, with inert values."""

    def __init__(self, stream: Source, budget: Budget, joblib: bool = False) -> None:
        self.stream = stream
        self.budget = budget
        self.joblib = joblib
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.proto = 0
        self.offset = stream.tell()
        self.imports: list[Import] = []
        self.problems: list[Problem] = []
        self.value: object = UNKNOWN
        self.array: Obj | None = None
        self.frame_end = 0
        self.arrays = False
        self.payloads: list[tuple[int, bytes]] = []
        self.filled: set[int] = set()  # ids of the targets of SETITEM(S), APPEND(S), ADDITEMS
        self.done = False

    def run(self) -> None:
        """Execute opcodes until STOP."""
        budget = self.budget
        for name, arg, offset in read_ops(self.stream):
            if budget.left <= 0:
                raise TooManyOpcodes
            budget.left -= 1
            if not budget.left % _CHECK_EVERY:
                budget.check(len(self.stack) + len(self.memo) + len(self.metastack))
            self.offset = offset
            HANDLERS[name](self, arg)
            if self.array is not None:
                self._read_array(self.array)
            if self.done:
                return
            self.offset = self.stream.tell()  # where a failing next opcode starts

    def _read_array(self, wrapper: Obj) -> None:
        """Step over the array joblib writes right after a NumpyArrayWrapper is built."""
        self.array = None
        self.arrays = True
        if wrapper.init:
            raise Malformed(f"joblib array at {self.offset}: the wrapper is built by a call")
        if self.stream.tell() < self.frame_end:
            # joblib reads the array from the file, after the frame the opcodes come from
            raise Malformed(f"joblib array at {self.offset}: the wrapper ends inside a FRAME")
        layout = array_layout(wrapper.state)
        if isinstance(layout, str):
            raise Malformed(f"joblib array at {self.offset}: {layout}")
        self.stack[-1] = UNKNOWN
        if layout.nested_pickle:
            nested = scan_stream(self.stream, self.budget)
            self.imports += nested.imports
            self.problems += nested.problems
            return
        self._skip_raw(layout)

    def _skip_raw(self, layout: ArrayLayout) -> None:
        """joblib's padding (one length byte, then that many 0xff) and the array bytes.

        joblib reads the length byte whenever the wrapper has an alignment attribute, even 0,
        and skips that many bytes whatever they are: odd padding is reported and read on.
        """
        if layout.alignment is not None:
            self._padding(layout.alignment, f"joblib array at {self.offset}")
        self.stream.skip(layout.nbytes)

    def _padding(self, alignment: int, where: str) -> None:
        length = self.stream.read(1)
        if not length:
            raise Malformed(f"{where} has no padding length")
        valid = 1 <= length[0] <= max(alignment, 1)
        if not valid:
            self.problem(f"{where} has no valid padding length", "unsafe")
        padding = self.stream.read(length[0])
        if valid and padding != b"\xff" * length[0]:
            self.problem(f"{where} has padding joblib never writes", "unsafe")

    def problem(self, message: str, kind: str = "unreadable") -> None:
        """Record a problem at the current opcode."""
        self.problems.append(Problem(self.offset, message, kind))

    def record(self, module: str, name: str) -> Global:
        """Record an import the way the unpickler resolves it (Python 2 names mapped)."""
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.imports.append(Import(self.offset, module, name))
        return Global(module, name)

    def push(self, value: object) -> None:
        """Push a value."""
        self.stack.append(value)

    def pop(self) -> object:
        """Pop a value; an empty stack is malformed."""
        if not self.stack:
            raise Malformed(f"stack underflow at {self.offset}")
        return self.stack.pop()

    def peek(self) -> object:
        """The top value; an empty stack is malformed."""
        if not self.stack:
            raise Malformed(f"stack underflow at {self.offset}")
        return self.stack[-1]

    def pop_mark(self) -> list[object]:
        """The values above the last MARK, restoring the stack below it."""
        if not self.metastack:
            raise Malformed(f"no MARK before the opcode at {self.offset}")
        items = self.stack
        self.stack = self.metastack.pop()
        return items


Handler = Callable[[Machine, Any], None]


def _constant(machine: Machine, arg: Any) -> None:
    machine.push(arg)


def _none(machine: Machine, arg: Any) -> None:
    machine.push(None)


def _true(machine: Machine, arg: Any) -> None:
    machine.push(True)


def _false(machine: Machine, arg: Any) -> None:
    machine.push(False)


def _unknown(machine: Machine, arg: Any) -> None:
    machine.push(UNKNOWN)


def _empty_tuple(machine: Machine, arg: Any) -> None:
    machine.push(())


def _tuple1(machine: Machine, arg: Any) -> None:
    machine.push((machine.pop(),))


def _tuple2(machine: Machine, arg: Any) -> None:
    second = machine.pop()
    machine.push((machine.pop(), second))


def _tuple3(machine: Machine, arg: Any) -> None:
    third = machine.pop()
    second = machine.pop()
    machine.push((machine.pop(), second, third))


def _empty_list(machine: Machine, arg: Any) -> None:
    machine.push([])


def _empty_dict(machine: Machine, arg: Any) -> None:
    machine.push({})


def _mark(machine: Machine, arg: Any) -> None:
    machine.metastack.append(machine.stack)
    machine.stack = []


def _pop(machine: Machine, arg: Any) -> None:
    if machine.stack:
        machine.stack.pop()
    else:
        machine.pop_mark()


def _pop_mark(machine: Machine, arg: Any) -> None:
    machine.pop_mark()


def _dup(machine: Machine, arg: Any) -> None:
    machine.push(machine.peek())


def _marked_tuple(machine: Machine, arg: Any) -> None:
    machine.push(tuple(machine.pop_mark()))


def _marked_list(machine: Machine, arg: Any) -> None:
    machine.push(list(machine.pop_mark()))


def _marked_dict(machine: Machine, arg: Any) -> None:
    target: dict[Any, object] = {}
    _set_items(machine, target, machine.pop_mark())
    machine.push(target)


def _set_items(machine: Machine, target: object, items: list[object]) -> None:
    if len(items) % 2:
        raise Malformed("odd number of items for a dict")
    machine.filled.add(id(target))
    if machine.joblib and isinstance(target, dict):
        for key, value in zip(items[::2], items[1::2], strict=True):
            if _hashable(key):
                target[key] = value


def _hashable(value: object) -> bool:
    """Keys the machine keeps: flat constants (hashing a nested tuple recurses in C)."""
    return type(value) in (str, int, bytes, float, bool) or value is None


def _append(machine: Machine, arg: Any) -> None:
    value = machine.pop()
    target = machine.peek()
    machine.filled.add(id(target))
    if machine.joblib and isinstance(target, list):
        target.append(value)


def _appends(machine: Machine, arg: Any) -> None:
    items = machine.pop_mark()
    target = machine.peek()
    machine.filled.add(id(target))
    if machine.joblib and isinstance(target, list):
        target.extend(items)


def _setitem(machine: Machine, arg: Any) -> None:
    value = machine.pop()
    key = machine.pop()
    _set_items(machine, machine.peek(), [key, value])


def _setitems(machine: Machine, arg: Any) -> None:
    items = machine.pop_mark()
    _set_items(machine, machine.peek(), items)


def _additems(machine: Machine, arg: Any) -> None:
    machine.pop_mark()
    machine.filled.add(id(machine.peek()))


def _frozenset(machine: Machine, arg: Any) -> None:
    machine.pop_mark()
    machine.push(UNKNOWN)


def _get(machine: Machine, arg: Any) -> None:
    if arg not in machine.memo:
        raise Malformed(f"memo entry {arg} is read before it is written")
    machine.push(machine.memo[arg])


def _put(machine: Machine, arg: Any) -> None:
    if arg < 0:
        raise Malformed("negative memo index")
    machine.memo[arg] = machine.peek()


def _memoize(machine: Machine, arg: Any) -> None:
    machine.memo[len(machine.memo)] = machine.peek()


def _extension(machine: Machine, arg: Any) -> None:
    message = f"imports through the copyreg extension registry (code {arg}): not checkable"
    machine.problem(message, "unsafe")
    machine.push(UNKNOWN)


def _imported(machine: Machine, arg: tuple[str, str]) -> Global:
    """The import of GLOBAL or INST; the module is imported even if the name is then missing."""
    module, name = arg
    if not all(part.isidentifier() for part in module.split(".")):
        raise Malformed(f"import of {module!r}, which is not a module name")
    return machine.record(module, name)


def _global(machine: Machine, arg: tuple[str, str]) -> None:
    machine.push(_imported(machine, arg))


def _inst(machine: Machine, arg: tuple[str, str]) -> None:
    cls = _imported(machine, arg)
    args = tuple(machine.pop_mark())
    _check_call(machine, cls, args)
    machine.push(Obj(cls, args, init=bool(args)))


def _stack_global(machine: Machine, arg: Any) -> None:
    name = machine.pop()
    module = machine.pop()
    if isinstance(module, str) and isinstance(name, str):
        machine.push(machine.record(module, name))
        return
    if not (_maybe_str(module) and _maybe_str(name)):
        raise Malformed("STACK_GLOBAL on a value that is not a string")  # CPython refuses it
    message = "STACK_GLOBAL imports a name that is not a constant string: not checkable"
    machine.problem(message, "unsafe")
    machine.push(UNKNOWN)


def _maybe_str(value: object) -> bool:
    """Whether a value could be a string when really unpickled (a call's result could be).

    An instance made by NEWOBJ is one of its class, a string only for a string class.
    """
    if isinstance(value, Obj) and not value.init and isinstance(value.cls, Global):
        return value.cls in _STRING_CLASSES
    return value is UNKNOWN or isinstance(value, str | Obj)


def _reduce(machine: Machine, arg: Any) -> None:
    args = machine.pop()
    func = machine.pop()
    init = True
    _check_call(machine, func, args)
    if isinstance(func, Global) and func in _FACTORIES and isinstance(args, tuple) and args:
        # copyreg builds an instance of its first argument; only `_reconstructor` with a base
        # other than `object` calls a constructor
        init = func == _RECONSTRUCTOR and (len(args) < 2 or args[1] != _OBJECT)
        func = args[0]
    machine.push(Obj(func, args, init))


def _check_call(machine: Machine, func: object, args: object) -> None:
    """`torch.storage._load_from_bytes(data)` runs `torch.load` on `data`: the bytes must be
    a constant, kept to be scanned as a file of their own (a tensor pickled without torch.save).
    """
    why = torch_calls.refusal(func, args, machine.filled)
    if why:
        machine.problem(why, "unsafe")
    if func != LOAD_FROM_BYTES:
        return
    if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], bytes):
        machine.payloads.append((machine.offset, args[0]))
        return
    message = "torch.storage._load_from_bytes on data that is not constant bytes up to 1 MiB"
    machine.problem(f"{message}: not checkable", "unsafe")


def _newobj(machine: Machine, arg: Any) -> None:
    args = machine.pop()
    machine.push(Obj(machine.pop(), args, init=False))


def _newobj_ex(machine: Machine, arg: Any) -> None:
    machine.pop()
    _newobj(machine, arg)


def _obj(machine: Machine, arg: Any) -> None:
    items = machine.pop_mark()
    if not items:
        raise Malformed("OBJ without a class")
    _check_call(machine, items[0], tuple(items[1:]))
    machine.push(Obj(items[0], tuple(items[1:]), init=len(items) > 1))


def _build(machine: Machine, arg: Any) -> None:
    state = machine.pop()
    target = machine.peek()
    if machine.joblib and isinstance(target, Obj):
        target.state = _merged(target.state, state)
        if target.cls == WRAPPER:
            machine.array = target


def _merged(old: object, state: object) -> object:
    """An object's attributes after BUILD: a dict (or `(dict, slotdict)`) updates them.

    Any other state goes to `__setstate__` (a dtype's tuple, for one) and is kept as it is.
    """
    parts: tuple[object, ...] = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    if not all(isinstance(part, dict) or (len(parts) == 2 and part is None) for part in parts):
        return state
    merged = dict(old) if isinstance(old, dict) else {}
    for part in parts:
        merged.update(part or {})  # type: ignore[call-overload]
    return merged


def _replace_top(machine: Machine, arg: Any) -> None:
    machine.pop()
    machine.push(UNKNOWN)


def _proto(machine: Machine, arg: int) -> None:
    machine.proto = arg


def _frame(machine: Machine, arg: int) -> None:
    """FRAME announces a length: the opcodes inside it are read one by one anyway."""
    machine.frame_end = machine.stream.tell() + arg


def _stop(machine: Machine, arg: Any) -> None:
    machine.value = machine.pop()
    machine.done = True


#: One handler per opcode name (every opcode of protocols 0 to 5).
HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "INT": _constant,
        "BININT": _constant,
        "BININT1": _constant,
        "BININT2": _constant,
        "LONG": _constant,
        "LONG1": _constant,
        "LONG4": _constant,
        "STRING": _constant,
        "BINSTRING": _constant,
        "SHORT_BINSTRING": _constant,
        "BINBYTES": _constant,
        "SHORT_BINBYTES": _constant,
        "BINBYTES8": _constant,
        "BYTEARRAY8": _constant,
        "UNICODE": _constant,
        "SHORT_BINUNICODE": _constant,
        "BINUNICODE": _constant,
        "BINUNICODE8": _constant,
        "FLOAT": _constant,
        "BINFLOAT": _constant,
        "GET": _get,
        "BINGET": _get,
        "LONG_BINGET": _get,
        "PUT": _put,
        "BINPUT": _put,
        "LONG_BINPUT": _put,
        "EXT1": _extension,
        "EXT2": _extension,
        "EXT4": _extension,
        "NEXT_BUFFER": _unknown,
        "PERSID": _unknown,
        "EMPTY_SET": _unknown,
        "READONLY_BUFFER": _replace_top,
        "BINPERSID": _replace_top,
        "NONE": _none,
        "NEWTRUE": _true,
        "NEWFALSE": _false,
        "EMPTY_TUPLE": _empty_tuple,
        "TUPLE1": _tuple1,
        "TUPLE2": _tuple2,
        "TUPLE3": _tuple3,
        "TUPLE": _marked_tuple,
        "EMPTY_LIST": _empty_list,
        "EMPTY_DICT": _empty_dict,
        "LIST": _marked_list,
        "DICT": _marked_dict,
        "APPEND": _append,
        "APPENDS": _appends,
        "SETITEM": _setitem,
        "SETITEMS": _setitems,
        "ADDITEMS": _additems,
        "FROZENSET": _frozenset,
        "POP": _pop,
        "DUP": _dup,
        "MARK": _mark,
        "POP_MARK": _pop_mark,
        "MEMOIZE": _memoize,
        "GLOBAL": _global,
        "INST": _inst,
        "STACK_GLOBAL": _stack_global,
        "REDUCE": _reduce,
        "NEWOBJ": _newobj,
        "NEWOBJ_EX": _newobj_ex,
        "OBJ": _obj,
        "BUILD": _build,
        "PROTO": _proto,
        "FRAME": _frame,
        "STOP": _stop,
    }
)
