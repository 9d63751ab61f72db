"""Load a model file under the scanner's policy: `mlgate.models.load(path, packs=...)`.

Build-time scanning is one line of defence; this is the other. `load` reads the file once
into memory, scans that copy (any finding refuses it), then unpickles the same copy with an
unpickler whose `find_class` resolves only what the policy allows: the built-in safe names,
the packs and the project's vetted `allow` entries. A file the scanner and a loader would read
differently can therefore at worst be refused, never run.

Formats (found by content, as the scanner finds them): pickle and joblib files (compressed or
not; joblib files through joblib's own unpickler, so arrays load as joblib loads them), numpy
`.npy` and `.npz` (object arrays through the restricted unpickler), PyTorch checkpoints (zip and
legacy: through `torch.load` with the restricted unpickler as its pickle module; needs torch).

    from mlgate.models import load
    model = load("models/model.joblib", packs=["sklearn"])
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from mlgate.errors import PackageError, UsageError
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import Policy, build_policy, refusal, scan_stream_file
from mlgate.pipelines.scan.npy import MAGIC
from mlgate.pipelines.scan.opcodes import LOAD_FROM_BYTES
from mlgate.pipelines.scan.source import decompressing

_CODECS = ("gzip", "bz2", "xz", "lzma", "zlib")


class UnsafeModelError(PackageError):
    """The model file imports, or is shaped, outside the policy: it was not loaded."""


def load(
    path: str | os.PathLike[str],
    *,
    packs: Sequence[str] = (),
    allow: Sequence[str] = (),
    policy: Policy | None = None,
) -> Any:
    """The object stored in the model file at `path`, loaded under the policy.

    Raises UnsafeModelError (nothing is loaded) when the scan finds anything, or when the
    file asks to import a name the policy refuses.
    """
    policy = policy or build_policy(ScanConfig(packs=tuple(packs), allow=tuple(allow)))
    data = Path(path).read_bytes()
    report = scan_stream_file(io.BytesIO(data), len(data), policy, str(path))
    if report.findings:
        first = report.findings[0]
        raise UnsafeModelError(f"refused to load {first.describe()}")
    kind, _, codec = report.format.partition("+")
    loader = _LOADERS.get(kind)
    if loader is None:
        raise UsageError(
            f"{path}: a {report.format} file holds no pickle: load it with its own library"
        )
    return loader(_unpacked(data, codec), policy, str(path))


def _unpacked(data: bytes, codec: str) -> IO[bytes]:
    if codec in _CODECS:
        with decompressing(io.BytesIO(data), codec) as stream:
            return io.BytesIO(stream.read())
    return io.BytesIO(data)


def find_class_for(
    policy: Policy, original: Callable[[str, str], Any]
) -> Callable[[str, str], Any]:
    """A `find_class` that resolves only names the policy allows."""

    def find_class(module: str, name: str) -> Any:
        why = refusal(policy.allowlist, module, name)
        if why:
            raise UnsafeModelError(f"refused while loading: {why}")
        if (module, name) == LOAD_FROM_BYTES:
            return lambda data: _load_torch(io.BytesIO(data), policy, "tensor bytes")
        return original(module, name)

    return find_class


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` enforces a policy."""

    def __init__(self, file: IO[bytes], policy: Policy, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._find = find_class_for(policy, super().find_class)

    def find_class(self, module: str, name: str) -> Any:
        """The global `module.name` when the policy allows it; else UnsafeModelError."""
        return self._find(module, name)


def restricted_loads(data: IO[bytes], policy: Policy) -> Any:
    """One pickle from `data`, under `policy`."""
    return RestrictedUnpickler(data, policy).load()


def _load_pickle(data: IO[bytes], policy: Policy, label: str) -> Any:
    return restricted_loads(data, policy)


def _load_joblib(data: IO[bytes], policy: Policy, label: str) -> Any:
    numpy_pickle = importlib.import_module("joblib.numpy_pickle")
    unpickler = numpy_pickle.NumpyUnpickler(label, data, "auto")
    unpickler.find_class = find_class_for(policy, unpickler.find_class)
    return unpickler.load()


def _load_npy(data: IO[bytes], policy: Policy, label: str) -> Any:
    np = importlib.import_module("numpy")
    version = np.lib.format.read_magic(data)
    read_header = np.lib.format.read_array_header_1_0
    if version != (1, 0):
        read_header = np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(data, max_header_size=1 << 20)
    if not dtype.hasobject:
        data.seek(0)
        return np.lib.format.read_array(data, allow_pickle=False)
    array = restricted_loads(data, policy)
    if not isinstance(array, np.ndarray):
        raise UnsafeModelError(f"{label}: the object array's pickle is not an array")
    return array.reshape(shape, order="F" if fortran else "C")


def _load_npz(data: IO[bytes], policy: Policy, label: str) -> dict[str, Any]:
    """Every member as numpy reads it: an array when it starts like one, else its bytes."""
    arrays: dict[str, Any] = {}
    with zipfile.ZipFile(data) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            key = name.removesuffix(".npy")
            member = io.BytesIO(raw)
            arrays[key] = (
                _load_npy(member, policy, f"{label}:{name}") if raw.startswith(MAGIC) else raw
            )
    return arrays


def _load_torch(data: IO[bytes], policy: Policy, label: str) -> Any:
    """`torch.load` with the restricted unpickler as its pickle module (emulated in tests)."""
    try:
        torch = importlib.import_module("torch")
    except ImportError as err:
        raise UsageError(f"{label}: a PyTorch file needs torch installed to load it") from err

    class Unpickler(RestrictedUnpickler):
        def __init__(self, file: IO[bytes], **kwargs: Any) -> None:
            super().__init__(file, policy, **kwargs)

    def restricted_load(file: IO[bytes], **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    module = SimpleNamespace(Unpickler=Unpickler, load=restricted_load, __name__="mlgate.models")
    # the pickle module is the restricted one: torch's own allowlist would differ from the policy
    return torch.load(data, weights_only=False, pickle_module=module, map_location="cpu")  # noqa: MLG401


_LOADERS: dict[str, Callable[[IO[bytes], Policy, str], Any]] = {
    "pickle": _load_pickle,
    "joblib": _load_joblib,
    "npy": _load_npy,
    "npz": _load_npz,
    "pytorch": _load_torch,
    "pytorch-legacy": _load_torch,
}
