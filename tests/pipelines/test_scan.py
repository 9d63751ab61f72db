"""The pickle scanner on real model files and on hand-written opcode streams.

It never unpickles: every malicious file here would run `echo owned` if it were loaded.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import importlib
import io
import lzma
import os
import pickle
import pickletools
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib.numpy_pickle import NumpyArrayWrapper
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.errors import ConfigError
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import FileReport, build_policy, scan_file, scan_paths
from mlgate.pipelines.scan.opcodes import Budget, scan_stream
from mlgate.pipelines.scan.source import Source


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo owned",))


class ImportGadget:
    """`importlib.import_module('os')`: the gadget a denylist lets through."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (importlib.import_module, ("os",))


def scan(
    path: Path, packs: tuple[str, ...] = (), allow: tuple[str, ...] = (), **limits: Any
) -> FileReport:
    config = ScanConfig(packs=packs, allow=allow)._replace(**limits)
    return scan_file(path, build_policy(config), path.name)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def offset_of(data: bytes, opcode: str, nth: int = 0) -> int:
    """Byte offset of the nth `opcode` in a pickle (from pickletools, independently)."""
    found = (pos for op, _, pos in pickletools.genops(data) if op.name == opcode)
    for _ in range(nth):
        next(found)
    position = next(found)
    assert position is not None
    return position


def summary(report: FileReport) -> list[tuple[int, str | None, str]]:
    return [(finding.offset, finding.name, finding.message) for finding in report.findings]


def test_sklearn_joblib_model_passes_with_the_pack_only(tmp_path: Path) -> None:
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3))
    model.fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [0, 1, 0, 1])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    safe = scan(path, packs=("sklearn",))
    assert safe.findings == ()
    assert safe.format == "joblib"
    assert "sklearn.tree._tree.Tree" in safe.globals
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in safe.globals
    refused = scan(path)
    first = refused.findings[0]
    assert (first.path, first.name) == ("model.joblib", "sklearn.pipeline.Pipeline")
    assert first.message == (
        "imports sklearn.pipeline.Pipeline, which is not on the allowlist "
        "(enable the 'sklearn' pack)"
    )
    data = path.read_bytes()
    assert first.offset == offset_of(data, "STACK_GLOBAL")


@pytest.mark.parametrize("compress", [("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3)])
def test_compressed_joblib_files_are_scanned(tmp_path: Path, compress: tuple[str, int]) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"weights": np.arange(6.0).reshape(2, 3), "evil": Evil()}, path, compress=compress)
    report = scan(path, packs=("numpy",))
    assert report.format == f"joblib+{compress[0]}"
    assert [finding.name for finding in report.findings] == ["posix.system"]


def test_joblib_arrays_of_every_layout_are_stepped_over(tmp_path: Path) -> None:
    path = tmp_path / "arrays.joblib"
    arrays = {
        "f": np.arange(10.0),
        "fortran": np.asfortranarray(np.ones((3, 4), dtype=np.int32)),
        "unicode": np.array(["ab", "cde"]),
        "bytes": np.array([b"x", b"yz"]),
        "struct": np.zeros(2, dtype=[("x", "i4"), ("y", "f8", (2,))]),
        "datetime": np.array(["2024-01-01"], dtype="M8[D]"),
        "scalar": np.array(3.5),
        "objects": np.array([1, "two", None], dtype=object),
        "evil": Evil(),
    }
    joblib.dump(arrays, path)
    report = scan(path, packs=("numpy",))
    assert [finding.name for finding in report.findings] == ["posix.system"]
    joblib.dump({**arrays, "evil": np.array([Evil()], dtype=object)}, path)
    nested = scan(path, packs=("numpy",))
    assert [finding.name for finding in nested.findings] == ["posix.system"]


def test_joblib_file_without_alignment_padding(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    joblib.dump({"a": np.arange(5), "b": np.arange(3.0)}, buffer)
    path = write(tmp_path, "old.joblib", buffer.getvalue())
    assert scan(path, packs=("numpy",)).findings == ()


def test_npy_files_with_and_without_objects(tmp_path: Path) -> None:
    np.save(tmp_path / "plain.npy", np.arange(12.0).reshape(3, 4))
    plain = scan(tmp_path / "plain.npy")
    assert (plain.format, plain.globals, plain.findings) == ("npy", (), ())
    np.save(tmp_path / "objects.npy", np.array([1, "x"], dtype=object), allow_pickle=True)
    assert scan(tmp_path / "objects.npy", packs=("numpy",)).findings == ()
    assert "numpy.ndarray" in scan(tmp_path / "objects.npy").globals
    np.save(tmp_path / "evil.npy", np.array([Evil()], dtype=object), allow_pickle=True)
    evil = scan(tmp_path / "evil.npy", packs=("numpy",))
    assert [finding.name for finding in evil.findings] == ["posix.system"]


def test_npz_members_are_scanned_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(path, plain=np.arange(3), evil=np.array([Evil()], dtype=object))
    report = scan(path, packs=("numpy",))
    assert report.format == "npz"
    assert [(finding.path, finding.name) for finding in report.findings] == [
        ("arrays.npz:evil.npy", "posix.system")
    ]
    np.savez(path, plain=np.arange(3), struct=np.zeros(1, dtype=[("o", "O"), ("x", "i4")]))
    assert [finding.name for finding in scan(path).findings][:1] == [
        "numpy._core.multiarray._reconstruct"
    ]


def test_os_system_is_reported_as_posix_system_at_its_offset(tmp_path: Path) -> None:
    data = pickle.dumps(Evil(), protocol=4)
    report = scan(write(tmp_path, "evil.pkl", data), packs=("sklearn", "torch"))
    assert summary(report) == [
        (
            offset_of(data, "STACK_GLOBAL"),
            "posix.system",
            "imports posix.system, which can run code: never allowed",
        )
    ]


def test_import_module_gadget_is_refused(tmp_path: Path) -> None:
    report = scan(write(tmp_path, "gadget.pkl", pickle.dumps(ImportGadget(), protocol=2)))
    assert [finding.name for finding in report.findings] == ["importlib.import_module"]
    assert report.findings[0].offset == 2


def test_builtins_getattr_chain_is_refused(tmp_path: Path) -> None:
    # getattr(__import__("os"), "system")("echo owned"), written with GLOBAL and REDUCE.
    data = (
        b"\x80\x02cbuiltins\ngetattr\n"
        b"cbuiltins\n__import__\n(X\x02\x00\x00\x00ostR"
        b"X\x06\x00\x00\x00system\x86R(X\n\x00\x00\x00echo ownedtR."
    )
    report = scan(write(tmp_path, "chain.pkl", data))
    assert [(finding.offset, finding.name) for finding in report.findings] == [
        (2, "builtins.getattr"),
        (20, "builtins.__import__"),
    ]


def test_memo_resolved_stack_global(tmp_path: Path) -> None:
    # The strings are memoised first, then fetched back for STACK_GLOBAL: a backwards search
    # for the last two string opcodes would see "decoy" and "harmless" instead.
    data = (
        b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94"
        b"\x8c\x05decoy\x8c\x08harmless\x86\x30"
        b"h\x00h\x01\x93\x8c\necho owned\x85R."
    )
    report = scan(write(tmp_path, "memo.pkl", data))
    assert [(finding.offset, finding.name) for finding in report.findings] == [
        (offset_of(data, "STACK_GLOBAL"), "os.system")
    ]


def test_dup_and_put_get_are_followed(tmp_path: Path) -> None:
    data = b"\x80\x04\x8c\x08builtinsq\x05\x30h\x05\x8c\x04eval2\x30\x93\x8c\x011\x85R."
    report = scan(write(tmp_path, "dup.pkl", data))
    assert [finding.name for finding in report.findings] == ["builtins.eval"]


def test_stack_global_on_computed_strings_is_refused(tmp_path: Path) -> None:
    # The module name comes out of a call: it cannot be known without running it.
    data = b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93."
    report = scan(write(tmp_path, "computed.pkl", data))
    assert summary(report) == [
        (
            offset_of(data, "STACK_GLOBAL"),
            None,
            "STACK_GLOBAL imports a name that is not a constant string: not checkable",
        )
    ]


def test_protocol_0_global_and_inst(tmp_path: Path) -> None:
    report = scan(write(tmp_path, "p0.pkl", pickle.dumps(Evil(), protocol=0)))
    assert [finding.name for finding in report.findings] == ["posix.system"]
    inst = b"(S'echo owned'\nios\nsystem\n."
    report = scan(write(tmp_path, "inst.pkl", inst))
    assert [(finding.offset, finding.name) for finding in report.findings] == [(15, "os.system")]


def test_python2_names_are_mapped_like_the_unpickler(tmp_path: Path) -> None:
    data = b"c__builtin__\neval\n(S'1'\ntR."
    report = scan(write(tmp_path, "py2.pkl", data))
    assert [finding.name for finding in report.findings] == ["builtins.eval"]
    fine = b"c__builtin__\nset\n((lI1\natR."
    assert scan(write(tmp_path, "set.pkl", fine)).findings == ()


def test_truncated_stream_is_a_finding(tmp_path: Path) -> None:
    data = pickle.dumps({"a": list(range(100))}, protocol=4)
    report = scan(write(tmp_path, "cut.pkl", data[:-20]))
    assert [(finding.name, finding.message) for finding in report.findings] == [
        (None, "truncated pickle: the data ends before the STOP opcode")
    ]


def test_several_pickles_in_one_stream(tmp_path: Path) -> None:
    first = pickle.dumps(collections.OrderedDict(a=1), protocol=2)
    second = pickle.dumps(Evil(), protocol=2)
    report = scan(write(tmp_path, "two.pkl", first + second))
    assert [(finding.offset, finding.name) for finding in report.findings] == [
        (len(first) + 2, "posix.system")
    ]
    assert report.globals == ("collections.OrderedDict", "posix.system")


def test_garbage_after_a_pickle_is_a_finding(tmp_path: Path) -> None:
    data = pickle.dumps([1, 2], protocol=4) + b"\xff\xfe"
    report = scan(write(tmp_path, "junk.pkl", data))
    assert summary(report)[0][2].startswith("not a valid pickle: at position")


def test_malformed_streams_are_findings(tmp_path: Path) -> None:
    cases = {
        "underflow.pkl": b"\x80\x04R.",
        "nomark.pkl": b"\x80\x04t.",
        "memo.pkl": b"\x80\x04h\x07.",
        "odd.pkl": b"\x80\x04}(K\x01u.",
        "obj.pkl": b"\x80\x04(o.",
        "pair.pkl": b"\x80\x04(cos system x\nfoo\nt.",
    }
    for name, data in cases.items():
        report = scan(write(tmp_path, name, data))
        assert [finding.message.split(":")[0] for finding in report.findings] == [
            "malformed pickle"
        ], name


def test_extension_registry_opcodes_are_refused(tmp_path: Path) -> None:
    report = scan(write(tmp_path, "ext.pkl", b"\x80\x02\x82\x01."))
    assert summary(report) == [
        (2, None, "imports through the copyreg extension registry (code 1): not checkable")
    ]


def test_opcode_and_size_caps(tmp_path: Path) -> None:
    path = write(tmp_path, "big.pkl", pickle.dumps(list(range(50)), protocol=2))
    assert summary(scan(path, max_opcodes=5))[0][2] == (
        "more than 5 opcodes: raise max-opcodes to read it all"
    )
    size = path.stat().st_size
    assert summary(scan(path, max_bytes=10)) == [
        (0, None, f"{size} bytes of pickle data is over max-bytes (10): not read")
    ]


def torch_zip(path: Path, data_pkl: bytes) -> Path:
    """A checkpoint laid out like `torch.save` writes it (zip with archive/data.pkl)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", np.arange(4, dtype=np.float32).tobytes())
        archive.writestr("archive/version", "3\n")
    return path


# `OrderedDict([("weight", _rebuild_tensor_v2(persistent_load(("storage", FloatStorage, "0",
# "cpu", 4)), 0, (4,), (1,), False, OrderedDict()))])`, as torch.save pickles a state dict.
STATE_DICT = (
    b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02"
    b"ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04"
    b"ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08Q"
    b"K\x00K\x04\x85K\x01\x85\x89h\x00)Rq\ttq\nRq\x0bs."
)


def test_torch_zip_checkpoint(tmp_path: Path) -> None:
    pickletools.dis(STATE_DICT, out=io.StringIO())  # a well-formed pickle
    path = torch_zip(tmp_path / "model.pt", STATE_DICT)
    safe = scan(path, packs=("torch",))
    assert (safe.format, safe.findings) == ("pytorch", ())
    assert safe.globals == (
        "collections.OrderedDict",
        "torch.FloatStorage",
        "torch._utils._rebuild_tensor_v2",
    )
    refused = scan(path)
    assert [(finding.path, finding.name) for finding in refused.findings] == [
        ("model.pt:archive/data.pkl", "torch._utils._rebuild_tensor_v2"),
        ("model.pt:archive/data.pkl", "torch.FloatStorage"),
    ]
    evil = scan(torch_zip(tmp_path / "evil.pt", pickle.dumps(Evil(), protocol=2)), ("torch",))
    assert [(finding.path, finding.name) for finding in evil.findings] == [
        ("evil.pt:archive/data.pkl", "posix.system")
    ]


def test_legacy_torch_file_stops_before_raw_tensor_bytes(tmp_path: Path) -> None:
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    parts = [magic, pickle.dumps(1001, protocol=2), pickle.dumps({"little_endian": True})]
    parts += [STATE_DICT, pickle.dumps(["0"], protocol=2), b"\x8c\xff raw tensor bytes \x00"]
    report = scan(write(tmp_path, "old.pt", b"".join(parts)), packs=("torch",))
    assert (report.format, report.findings) == ("pytorch-legacy", ())


def test_non_pickle_files_hold_no_code(tmp_path: Path) -> None:
    report = scan(
        write(tmp_path, "model.safetensors", b'\x0c\x00\x00\x00\x00\x00\x00\x00{"a": null}')
    )
    assert (report.format, report.globals, report.findings) == ("safetensors", (), ())


def test_unreadable_containers_are_findings(tmp_path: Path) -> None:
    bad_zip = write(tmp_path, "bad.pt", b"PK\x03\x04 not really a zip")
    assert summary(scan(bad_zip))[0][2].startswith("not a readable zip archive")
    bad_npy = write(tmp_path, "bad.npy", b"\x93NUMPY\x01\x00\x05\x00{'x'")
    assert summary(scan(bad_npy))[0][2].startswith("unreadable .npy header")
    empty = write(tmp_path, "empty.pkl", b"")
    assert summary(scan(empty)) == [(0, None, "empty file: no pickle to read")]
    bad_gzip = write(tmp_path, "bad.joblib", b"\x1f\x8b\x08\x00broken")
    assert summary(scan(bad_gzip)) == [
        (
            0,
            None,
            "cannot decompress: Compressed file ended before the end-of-stream marker was reached",
        )
    ]
    bomb = write(tmp_path, "bomb.pkl", gzip.compress(pickle.dumps(b"\0" * 5000)))
    where = offset_of(pickle.dumps(b"\0" * 5000), "BINBYTES")
    assert summary(scan(bomb, max_bytes=1000)) == [
        (where, None, "over max-bytes (1000) of pickle data: not read to its end")
    ]


def test_compressed_plain_pickles(tmp_path: Path) -> None:
    data = pickle.dumps(Evil(), protocol=4)
    for name, packed in (("a.pkl", bz2.compress(data)), ("b.pkl", lzma.compress(data))):
        report = scan(write(tmp_path, name, packed))
        assert [finding.name for finding in report.findings] == ["posix.system"]


def test_project_allow_entries(tmp_path: Path) -> None:
    data = b"\x80\x04\x8c\x06mypkg.\x8c\x05Model\x93)R."
    path = write(tmp_path, "own.pkl", data.replace(b"\x06mypkg.", b"\x05mypkg"))
    assert scan(path).findings != ()
    assert scan(path, allow=("mypkg.Model",)).findings == ()
    assert scan(path, allow=("mypkg:Model",)).findings == ()
    assert scan(path, allow=("mypkg.**:[A-Z]*",)).findings == ()


def test_wildcards_never_match_dotted_dunder_or_test_names(tmp_path: Path) -> None:
    dotted = b"\x80\x04\x8c\x05mypkg\x8c\tos.system\x93."
    dunder = b"\x80\x04\x8c\x05mypkg\x8c\x0c__builtins__\x93."
    tests = b"\x80\x04\x8c\x0bmypkg.tests\x8c\x06Helper\x93."
    for name, data in (("a.pkl", dotted), ("b.pkl", dunder), ("c.pkl", tests)):
        assert len(scan(write(tmp_path, name, data), allow=("mypkg.**:*",)).findings) == 1
    # an exact dotted entry walks attributes: it is vetted, and refused when it cannot be
    with pytest.raises(ConfigError, match=r"'os\.system' is not a class name"):
        scan(write(tmp_path, "d.pkl", dotted), allow=("mypkg:os.system",))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ScanConfig(allow=("os.system",)), "allow entry 'os.system' can never be allowed"),
        (ScanConfig(allow=("builtins:getattr",)), "'builtins:getattr' can never be allowed"),
        (ScanConfig(allow=("nodot",)), "allow entry 'nodot' ([tool.mlgate.scan] allow): write"),
        (ScanConfig(allow=("a*.b",)), "allow entry 'a*.b'"),
        (ScanConfig(packs=("tensorflow",)), "unknown scan pack 'tensorflow'; packs: lightgbm,"),
    ],
)
def test_bad_allowlist_configuration(config: ScanConfig, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_policy(config)
    assert message in str(err.value)


def test_never_allowed_names_beat_any_wildcard(tmp_path: Path) -> None:
    data = pickle.dumps(Evil(), protocol=4)
    report = scan(write(tmp_path, "evil.pkl", data), allow=("posix.**:*", "os.**:*"))
    assert [finding.name for finding in report.findings] == ["posix.system"]


def test_packs_include_their_dependencies() -> None:
    policy = build_policy(ScanConfig(packs=("lightgbm", "xgboost")))
    assert policy.allowlist.packs == ("lightgbm", "numpy", "sklearn", "xgboost")


def test_scan_paths_walks_folders_whatever_the_names(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    write(tmp_path / "deep" / "er", "m.pkl", pickle.dumps(1))
    write(tmp_path / "deep", "readme.md", b"# not a model")
    write(tmp_path / "deep", "weights.h5", pickle.dumps(Evil(), protocol=0))
    write(tmp_path, "x.npz", b"")
    reports = scan_paths([tmp_path / "deep"], build_policy(ScanConfig()))
    assert [(Path(r.path).name, r.format, [f.name for f in r.findings]) for r in reports] == [
        ("m.pkl", "pickle", []),
        ("readme.md", "text", []),
        ("weights.h5", "pickle", ["posix.system"]),
    ]


def wrapper_file(tmp_path: Path, wrapper: NumpyArrayWrapper, data: bytes) -> Path:
    """A joblib-style file: the pickled wrapper, `data` where joblib puts the array, STOP."""
    pickled = pickle.dumps(wrapper, protocol=2)  # no FRAME: joblib ends its frame before arrays
    assert pickled.endswith(b"b.")
    return write(tmp_path, "crafted.joblib", pickled[:-1] + data + b".")


def wrapper(dtype: object, shape: object = (2,), alignment: object = 16) -> NumpyArrayWrapper:
    made = NumpyArrayWrapper(np.ndarray, (2,), "C", np.dtype("f8"))
    made.dtype, made.shape, made.numpy_array_alignment_bytes = dtype, shape, alignment
    return made


@pytest.mark.parametrize(
    ("dtype", "shape", "data"),
    [
        (np.dtype("<f8"), (2,), b"\x03\xff\xff\xff" + b"\0" * 16),
        (np.dtype("U3"), (2, 1), b"\x01\xff" + b"\0" * 24),
        (np.dtype("S5"), (), b"\x10" + b"\xff" * 16 + b"\0" * 5),
        (np.dtype([("a", "i2"), ("b", "f4", (3,))]), (2,), b"\x01\xff" + b"\0" * 28),
        (np.dtype("M8[ns]"), (1,), b"\x01\xff" + b"\0" * 8),
    ],
)
def test_crafted_wrappers_are_sized_like_joblib(
    tmp_path: Path, dtype: object, shape: object, data: bytes
) -> None:
    path = wrapper_file(tmp_path, wrapper(dtype, shape), data)
    assert scan(path, packs=("numpy",)).findings == ()


@pytest.mark.parametrize(
    ("made", "data", "message"),
    [
        (wrapper(np.dtype("f8")), b"c" + b"\0" * 16, "has no valid padding length"),
        (wrapper(np.dtype("f8")), b"\x02\xffA" + b"\0" * 16, "has padding joblib never writes"),
        (wrapper("f8"), b"", "the wrapper has no readable dtype"),
        (wrapper(np.dtype("f8"), shape=[2]), b"", "the wrapper shape is not a tuple"),
        (wrapper(np.dtype("f8"), alignment=1000), b"", "the wrapper alignment is not a small"),
    ],
)
def test_crafted_wrappers_that_joblib_would_not_write(
    tmp_path: Path, made: NumpyArrayWrapper, data: bytes, message: str
) -> None:
    report = scan(wrapper_file(tmp_path, made, data), packs=("numpy",))
    # a wrong wrapper stops the read; odd padding is reported and read on, as joblib reads it
    first = report.findings[0].message
    assert first.split(": ", 1)[0] in ("malformed pickle", first)
    assert message in first
    assert [finding.message for finding in report.findings[1:]] == (
        ["truncated pickle: the data ends before the STOP opcode"] if data[:1] == b"c" else []
    )


def test_object_dtype_in_a_structured_wrapper_is_a_nested_pickle(tmp_path: Path) -> None:
    nested = pickle.dumps(Evil(), protocol=5)
    made = wrapper(np.dtype([("o", "O"), ("x", "i4")]))
    report = scan(wrapper_file(tmp_path, made, nested), packs=("numpy",))
    assert [finding.name for finding in report.findings] == ["posix.system"]


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("torch_state_dict.pt", "pytorch"),
        ("torch_checkpoint.pt", "pytorch"),
        ("torch_legacy.pt", "pytorch-legacy"),
    ],
)
def test_real_torch_files_pass_with_the_torch_pack(name: str, kind: str) -> None:
    """Written by `torch.save` (torch 2.13): a state dict, a training checkpoint, legacy format."""
    report = scan(DATA / name, packs=("torch",))
    assert (report.format, report.findings) == (kind, ())
    assert "torch._utils._rebuild_tensor_v2" in report.globals
    assert [finding.name for finding in scan(DATA / name).findings][:1] == [
        "torch._utils._rebuild_tensor_v2"
    ]


def test_real_torch_full_model_needs_its_classes_allowed() -> None:
    """`torch.save(model)` pickles the module classes: code the torch pack does not vouch for."""
    report = scan(DATA / "torch_full_model.pt", packs=("torch",))
    assert [(finding.path, finding.offset, finding.name) for finding in report.findings] == [
        (
            "torch_full_model.pt:torch_full_model/data.pkl",
            2,
            "torch.nn.modules.container.Sequential",
        ),
        ("torch_full_model.pt:torch_full_model/data.pkl", 634, "torch.nn.modules.linear.Linear"),
        ("torch_full_model.pt:torch_full_model/data.pkl", 1113, "torch.nn.modules.activation.ReLU"),
    ]
    allowed = scan(DATA / "torch_full_model.pt", ("torch",), ("torch.nn.modules.**:[A-Z]*",))
    assert allowed.findings == ()


SEEDS = [
    pickle.dumps(Evil(), protocol=0),
    pickle.dumps(ImportGadget(), protocol=2),
    pickle.dumps({"a": [1, 2.5, "x", b"y", None, True], "b": (frozenset({1}),)}, protocol=4),
    pickle.dumps(collections.OrderedDict(a=np.arange(3)), protocol=5),
    STATE_DICT,
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.binary(max_size=300), joblib_mode=st.booleans())
def test_arbitrary_bytes_never_crash_the_machine(data: bytes, joblib_mode: bool) -> None:
    result = scan_stream(Source(io.BytesIO(data), 1 << 20, len(data)), Budget(10_000), joblib_mode)
    assert walks(data) or result.problems  # what pickletools cannot read is never passed
    assert all(0 <= problem.offset <= len(data) for problem in result.problems)


def walks(data: bytes) -> bool:
    """Whether pickletools, independently of the scanner, reads `data` as one pickle."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # about odd escapes in the data
            list(pickletools.genops(data))
    except Exception:  # noqa: BLE001 - any error means pickletools cannot read it
        return False
    return True


@pytest.mark.filterwarnings("error::DeprecationWarning")  # crafted data warns nobody
@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    seed=st.sampled_from(SEEDS),
    position=st.integers(min_value=0, max_value=400),
    patch=st.binary(min_size=1, max_size=12),
)
def test_mutated_pickles_never_crash_the_scanner(seed: bytes, position: int, patch: bytes) -> None:
    data = seed[:position] + patch + seed[position + len(patch) :]
    with tempfile.TemporaryDirectory() as folder:
        report = scan(write(Path(folder), "mutant.pkl", data))
    assert walks(data) or report.findings  # a mutant pickletools cannot read is refused


def test_huge_length_fields_are_findings(tmp_path: Path) -> None:
    data = b"\x80\x04\x8e" + (2**62).to_bytes(8, "little") + b"abc"
    report = scan(write(tmp_path, "huge.pkl", data))
    assert summary(report) == [
        (2, None, "malformed pickle: a length field is larger than any real data")
    ]


class FakeDtype:
    """Pickles as `numpy.dtype(*args)` with BUILD `state`, whatever those are."""

    def __init__(self, args: tuple[object, ...], state: object = None) -> None:
        self.args, self.state = args, state

    def __reduce__(self) -> tuple[object, ...]:
        return (np.dtype, self.args, self.state)


FLEXIBLE_STATE = (3, "<", None, None, None, -1, -1, 0)


@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        (collections.OrderedDict(), "a dtype is not a plain numpy.dtype"),
        (FakeDtype((5, False, True)), "a dtype has no type code"),
        (FakeDtype(("q8", False, True)), "dtype 'q8' is not understood"),
        (FakeDtype(("U", False, True), FLEXIBLE_STATE), "dtype 'U' has no valid item size"),
        (
            FakeDtype(
                ("V8", False, True),
                (3, "|", None, ("a",), {"a": (FakeDtype(("z1",)), 0)}, 8, 1, 16),
            ),
            "dtype 'z1' is not understood",
        ),
    ],
)
def test_dtypes_the_scanner_cannot_size(tmp_path: Path, dtype: object, message: str) -> None:
    report = scan(wrapper_file(tmp_path, wrapper(dtype), b""), packs=("numpy",))
    assert [finding.message for finding in report.findings if finding.name is None] == [
        f"malformed pickle: joblib array at {report.findings[-1].offset}: {message}"
    ]


def test_wrapper_state_that_is_not_a_dict(tmp_path: Path) -> None:
    data = b"\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81K\x01b."
    report = scan(write(tmp_path, "state.joblib", data), packs=("numpy",))
    assert summary(report) == [
        (47, None, "malformed pickle: joblib array at 47: the wrapper state is not a dict")
    ]


def test_oversized_zip_members_are_not_read(tmp_path: Path) -> None:
    path = torch_zip(tmp_path / "model.pt", STATE_DICT)
    size = len(STATE_DICT)
    assert summary(scan(path, packs=("torch",), max_bytes=100)) == [
        (0, None, f"{size} bytes of pickle data is over max-bytes (100): not read")
    ]
