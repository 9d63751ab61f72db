"""Signed builds: the builder a package names, proven with that builder's SSH key.

The builder of a package is whatever its build record (`<package>.provenance.json`) says, which
`mlgate package build --builder NAME` or the environment chose: on its own it is advisory, and
`allow-self-approval = false` only stops builders who name themselves. With `signed-builds =
true` in an environment's approval policy, the package must come with `<package>.builder.sig`,
the `ssh-keygen -Y sign` signature (namespace `mlgate-build`) of its digest and builder by a key
that `allowed_signers` lists for that builder (`mlgate package build --sign-with KEY`). Self-
approval is then judged against a builder nobody can impersonate, and by key too: an approval
signed with the builder's key is the builder's, whatever name it carries.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import ConfigError, GateError, UsageError
from mlgate.pipelines import signing
from mlgate.pipelines.ledger import canonical, write_atomic
from mlgate.pipelines.package import Package


class Builder(NamedTuple):
    """Who built a package, and the fingerprint of the key that signed the build ("" when the
    build is not signed, or its signature was not checked)."""

    name: str
    key: str = ""


def signature_path(package: Path) -> Path:
    """Where the builder's signature of `package` is kept: beside it, named after it."""
    return package.with_name(package.name + ".builder.sig")


def build_message(builder: str, digest: str) -> bytes:
    """The bytes a build signature covers: the builder and the package digest."""
    return canonical({"builder": builder, "digest": digest})


def sign_build(package: Package, key: Path) -> Path:
    """Sign `package`'s digest and builder with the builder's private SSH key `key`."""
    builder = package.manifest.builder or ""
    if not builder:
        raise UsageError(f"{package.path}: no builder is recorded; build it with --builder NAME")
    message = build_message(builder, package.digest)
    path = signature_path(package.path)
    write_atomic(path, signing.sign(key, signing.BUILD, message).encode())
    return path


def verified_builder(package: Package, allowed: Path | None, required: bool) -> Builder:
    """The package's builder; with `required`, only once its signature verifies for it."""
    name = package.manifest.builder or ""
    if not required:
        return Builder(name)
    if allowed is None:
        raise ConfigError(
            "signed-builds = true needs [tool.mlgate.ledger] allowed-signers, the file listing "
            "each builder's public SSH key"
        )
    signature = ""
    with contextlib.suppress(FileNotFoundError):  # no signature: refused just below
        signature = signature_path(package.path).read_text()
    message = build_message(name, package.digest)
    key = signing.verify(allowed, name, signing.BUILD, message, signature) if name else ""
    if not (signature and key):
        raise GateError(
            f"{package.path}: its build is not signed by its builder {name!r} (signed-builds); "
            "build it with `mlgate package build --builder NAME --sign-with KEY`, KEY being "
            "the key allowed_signers lists for NAME"
        )
    return Builder(name, key)
