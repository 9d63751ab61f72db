"""The torch pack's rebuild functions that take a function, hooks or attributes (emulated:
PyTorch is not installed; the calls are those of torch/_tensor.py and torch/_utils.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan_bypasses import found, scan, write

FROM_TYPE = b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n("
TENSOR = b"ctorch\nTensor\n"
REBUILD = b"ctorch._utils\n_rebuild_tensor_v2\n"
ARGS = b"(S'x'\nt"
EMPTY_HOOKS = b"ccollections\nOrderedDict\n)R"
WITH_STATE = b"\x80\x02ctorch._utils\n_rebuild_parameter_with_state\n(N\x89"


def _message(name: str) -> str:
    what = "a function, type, hooks or attributes torch.save never writes"
    return f"{name} called with {what}: not checkable"


@pytest.mark.parametrize(
    "body",
    [
        FROM_TYPE + b"ctorch.serialization\n_get_layout\n" + TENSOR + ARGS + b"}",  # any func
        FROM_TYPE + REBUILD + b"ctorch\ndevice\n" + ARGS + b"}",  # any new type
        FROM_TYPE + REBUILD + TENSOR + ARGS + b"}S'grad'\nK\x01s",  # attributes set
        FROM_TYPE + REBUILD + TENSOR + ARGS,  # three arguments
    ],
)
def test_rebuild_from_type_v2_only_as_torch_writes_it(tmp_path: Path, body: bytes) -> None:
    path = write(tmp_path, "t.pt", body + b"tR.")
    name = "torch._tensor._rebuild_from_type_v2"
    assert found(scan(path, ("torch",))) == [("t.pt", len(body) + 1, None, _message(name))]


def test_rebuild_from_type_v2_as_torch_writes_it(tmp_path: Path) -> None:
    path = write(tmp_path, "t.pt", FROM_TYPE + REBUILD + TENSOR + ARGS + EMPTY_HOOKS + b"tR.")
    assert found(scan(path, ("torch",))) == []


@pytest.mark.parametrize(
    ("hooks", "state"),
    [
        (b"ccollections\nOrderedDict\n)RS'h'\nctorch\nTensor\ns", b"}"),  # a hook
        (EMPTY_HOOKS, b"}S'_backward_hooks'\nK\x01s"),  # an attribute
        (b"N", b"(}S'x'\nK\x01st"),  # a one-item tuple of attributes
    ],
)
def test_parameter_hooks_and_state_must_be_empty(
    tmp_path: Path, hooks: bytes, state: bytes
) -> None:
    body = WITH_STATE + hooks + state
    path = write(tmp_path, "p.pt", body + b"tR.")
    name = "torch._utils._rebuild_parameter_with_state"
    assert found(scan(path, ("torch",))) == [("p.pt", len(body) + 1, None, _message(name))]
    empty = write(tmp_path, "ok.pt", WITH_STATE + EMPTY_HOOKS + b"}tR.")
    assert found(scan(empty, ("torch",))) == []
