"""The torch pack's callables that take other callables, hooks or attributes as arguments.

torch's own `weights_only` unpickler allows them because every value on its stack is itself
allowlisted; the scanner allows a whole pack, so their arguments are constrained to what
`torch.save` writes: `_rebuild_from_type_v2(func, new_type, args, state)` calls `func(*args)`,
turns the result into `new_type` and sets every attribute of `state` (`setattr`, so property
setters run): `func` must be a tensor rebuild function, `new_type` a tensor or parameter type
and `state` empty. Backward hooks (`_rebuild_tensor_v2`, `_rebuild_parameter*`) are always an
empty `OrderedDict()` in files torch writes, and a parameter's state is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType

from mlgate.pipelines.scan.values import Global, Obj

_UTILS = "torch._utils"
#: The tensor rebuild functions of `torch._utils` the torch pack allows.
REBUILD_NAMES = (
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_sparse_tensor",
    "_rebuild_qtensor",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_nested_tensor",
)
REBUILDS = frozenset(Global(_UTILS, name) for name in REBUILD_NAMES)
TENSOR_TYPES = frozenset({Global("torch", "Tensor"), Global("torch.nn.parameter", "Parameter")})
_ORDERED_DICT = Global("collections", "OrderedDict")


def _empty(value: object, filled: Collection[int]) -> bool:
    """None, `{}` or `OrderedDict()` that nothing was added to (`filled`: ids of targets of
    SETITEM(S), APPEND(S) and ADDITEMS)."""
    if value is None:
        return True
    if id(value) in filled:
        return False
    if isinstance(value, dict):
        return not value
    return isinstance(value, Obj) and value.cls == _ORDERED_DICT and value.args == ()


def _empty_state(value: object, filled: Collection[int]) -> bool:
    """An empty object state: empty, or a (dict, slots) pair of empties."""
    if isinstance(value, tuple) and len(value) == 2:
        return all(_empty(part, filled) for part in value)
    return _empty(value, filled)


def _from_type(args: tuple[object, ...], filled: Collection[int]) -> bool:
    return (
        len(args) == 4
        and args[0] in REBUILDS
        and args[1] in TENSOR_TYPES
        and _empty_state(args[3], filled)
    )


def _parameter_with_state(args: tuple[object, ...], filled: Collection[int]) -> bool:
    return len(args) == 4 and _empty(args[2], filled) and _empty_state(args[3], filled)


def _parameter(args: tuple[object, ...], filled: Collection[int]) -> bool:
    return len(args) == 3 and _empty(args[2], filled)


def _tensor_v2(args: tuple[object, ...], filled: Collection[int]) -> bool:
    return len(args) in (6, 7) and _empty(args[5], filled)


_CHECKS: Mapping[Global, Callable[[tuple[object, ...], Collection[int]], bool]] = MappingProxyType(
    {
        Global("torch._tensor", "_rebuild_from_type_v2"): _from_type,
        Global(_UTILS, "_rebuild_parameter_with_state"): _parameter_with_state,
        Global(_UTILS, "_rebuild_parameter"): _parameter,
        Global(_UTILS, "_rebuild_tensor_v2"): _tensor_v2,
    }
)


def refusal(func: object, args: object, filled: Collection[int]) -> str | None:
    """Why a call of a torch rebuild function is refused (None: as torch.save writes it)."""
    if not isinstance(func, Global) or func not in _CHECKS:
        return None
    if isinstance(args, tuple) and _CHECKS[func](args, filled):
        return None
    what = "a function, type, hooks or attributes torch.save never writes"
    return f"{func.module}.{func.name} called with {what}: not checkable"
