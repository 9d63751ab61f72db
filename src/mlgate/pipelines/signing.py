"""People signing with their SSH keys: `ssh-keygen -Y sign` and `-Y verify`, as git does for
signed commits.

An approval is signed over the canonical JSON of what it grants (environment, digest, approver,
expiry, package, note) in the namespace `mlgate-approval`, so a signature made for one
environment or digest never verifies for another. Verification needs only public keys: the
`allowed_signers` file committed in the repository (`[tool.mlgate.ledger] allowed-signers`, the
format of ssh-keygen(1) ALLOWED SIGNERS: `principal key-type base64-key` per line) says which key
may sign as which principal. A verified signature yields the key's fingerprint, which is what
counts as one approver: the same key signing under two names is one person.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from mlgate.errors import ConfigError, UsageError

APPROVAL = "mlgate-approval"
LEDGER = "mlgate-ledger"
BUILD = "mlgate-build"
_FINGERPRINT = re.compile(r" key (SHA256:\S+)")


def _keygen(argv: list[str], message: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["ssh-keygen", *argv], input=message, capture_output=True, cwd=cwd, check=False
        )
    except OSError as err:
        raise ConfigError(
            f"cannot run ssh-keygen ({err.strerror}): install the OpenSSH client to sign or "
            "verify approvals"
        ) from err


def sign(key: Path, namespace: str, message: bytes) -> str:
    """The armored SSH signature of `message` by the private key at `key` (a relative path
    is taken from the working folder, not from the temporary one ssh-keygen runs in)."""
    argv = ["-q", "-Y", "sign", "-f", str(key.absolute()), "-n", namespace]
    with tempfile.TemporaryDirectory() as folder:
        done = _keygen(argv, message, Path(folder))
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"cannot sign with {key}: {said[0]}; pass the path of your SSH key")
    return done.stdout.decode()


def _allowed(allowed: Path) -> Path:
    if not allowed.is_file():
        raise ConfigError(
            f"{allowed}: no allowed_signers file; commit one that lists each signer's public "
            "key (`alice ssh-ed25519 AAAA...`)"
        )
    return allowed.resolve()


def principals(allowed: Path, namespace: str, signature: str) -> list[str]:
    """Every principal `allowed` lists for the key that made `signature` (none if unlisted)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "sig").write_text(signature)
        argv = ["-Y", "find-principals", "-f", str(_allowed(allowed)), "-n", namespace, "-s", "sig"]
        done = _keygen(argv, b"", Path(folder))
    lines = done.stdout.decode(errors="replace").split() if done.returncode == 0 else []
    return [name for line in lines for name in line.split(",") if name]


def verify(allowed: Path, principal: str, namespace: str, message: bytes, signature: str) -> str:
    """The fingerprint of the key that signed `message` as `principal`, per `allowed`; "" when
    the signature is not one (forged, another key, another principal, edited message)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "sig").write_text(signature)
        argv = ["-Y", "verify", "-f", str(_allowed(allowed)), "-I", principal, "-n", namespace]
        done = _keygen([*argv, "-s", "sig"], message, Path(folder))
    found = _FINGERPRINT.search((done.stdout + done.stderr).decode(errors="replace"))
    return found.group(1) if done.returncode == 0 and found else ""
