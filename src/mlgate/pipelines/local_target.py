"""The embedded `local` target: a release store and model servers on 127.0.0.1.

Layout of the release store (one per environment):

    releases/<hex>/            one unpacked package per digest, with .mlgate-release.json
    current -> releases/<hex>  the release receiving traffic, switched by an atomic rename
    runs/<hex>.json            pid and port of the server running that release
    served/<hex>               touched whenever that release is switched to (pruning order)
    router.json                pid and port of the environment's stable endpoint
    logs/<hex>.log, logs/router.log

Each release runs its own server process on a socket mlgate binds on 127.0.0.1 and hands over
(an inherited descriptor): mlgate's built-in server (`mlgate.pipelines.server --fd N`), or the
package's own `server` command with `{fd}`, `{port}` and `{python}` filled in. The server gets
an allowlisted environment and, when bubblewrap works here (or `sandbox = "required"`), runs in
a sandbox that sees its own release folder and nothing else of the store or the project
(`mlgate.pipelines.sandbox`). A package is installed only from one verified read of its file,
and only when that read holds the approved digest (`unpack`). Clients use the router's port,
which forwards each request to the release `current` names (`mlgate.pipelines.router`). A
candidate is started and verified on its own port while the previous release keeps answering;
switching traffic is one rename. After a deploy the previous release keeps running beside the
new one, so that rolling back to it is one rename too; releases beyond `keep` are removed. Every
process is detached: whatever happens to `mlgate` itself, the environment keeps serving the old
or the new release.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from mlgate.errors import GateError, PackageError
from mlgate.pipelines import sandbox
from mlgate.pipelines.archive import Plan, Sink, read_planned
from mlgate.pipelines.environments import LocalSettings
from mlgate.pipelines.ledger import fsync_dir, write_atomic
from mlgate.pipelines.manifest import MANIFEST_NAME, Manifest, digest_bytes, parse_manifest
from mlgate.pipelines.package import Package
from mlgate.pipelines.runtime import (
    LISTEN_FD,
    Clock,
    Proc,
    Processes,
    answering,
    bind_local,
    listening,
)
from mlgate.pipelines.sandbox import Sandbox, sandbox_argv, server_env
from mlgate.pipelines.targets import Staged
from mlgate.pipelines.verify import Check

RELEASE_INFO = ".mlgate-release.json"
_GRACE = 2.0
#: bwrap's parent, which the sandbox dies with (`--die-with-parent`) and whose pid is recorded.
_SUPERVISOR = (sys.executable, "-m", "mlgate.pipelines.supervisor")
#: The router loads no model: it answers within this, whatever a release's `start-timeout`.
_ROUTER_START = 30.0


def release_key(digest: str) -> str:
    """The folder name of a digest in the release store."""
    return digest.removeprefix("sha256:")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):  # no such record (yet), or one cut short by a crash
        return None
    return value if isinstance(value, dict) else None


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:  # the process died before writing anything
        return ""
    return lines[-1] if lines else ""


class LocalTarget:
    """Releases unpacked under the store and served on 127.0.0.1."""

    def __init__(
        self,
        settings: LocalSettings,
        processes: Processes,
        clock: Clock,
        hidden: Sequence[Path] = (),
    ) -> None:
        """`hidden`: paths a sandboxed server must not see besides the store (the ledger
        folder, the allowed_signers file, the ledger's signing key)."""
        self.settings = settings
        self.store = settings.state_dir
        self.processes = processes
        self.clock = clock
        self.hidden = tuple(hidden)

    def serving(self) -> str:
        """The digest `current` points to ("" when none)."""
        info = _read_json(self.store / "current" / RELEASE_INFO)
        return str(info["digest"]) if info else ""

    def stage(self, package: Package, previous: str) -> Staged:
        """Unpack `package` and start its server on a free port; the previous keeps serving.

        The stable endpoint is made sure of first: when another program holds its port, the
        deploy stops here (GateError) before any candidate starts. A package file that no
        longer is the approved one is a start problem: nothing of it is installed or run.
        """
        self._ensure_router()
        try:
            release = self._install(package)
        except PackageError as err:
            return Staged("", str(err), live=False)
        problem = self._start(release)
        port = self._run_port(release.name)
        return Staged(f"http://127.0.0.1:{port}", problem, live=False)

    def switch(self, digest: str) -> str:
        """Point `current` at `digest` with one atomic rename; return the stable endpoint."""
        port = self._ensure_router()
        link = self.store / f".current.{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("releases") / release_key(digest))
        os.replace(link, self.store / "current")
        fsync_dir(self.store)
        (self.store / "served").mkdir(exist_ok=True)
        (self.store / "served" / release_key(digest)).touch()  # its mtime: when it last served
        return f"http://127.0.0.1:{port}"

    def restore(self, digest: str, replacing: str) -> str:
        """Make `digest` serve again, restarting its server if it is not running."""
        if not digest:
            (self.store / "current").unlink(missing_ok=True)
            return ""
        release = self.store / "releases" / release_key(digest)
        if not (release / RELEASE_INFO).is_file():
            raise GateError(f"release {digest} is no longer in {self.store}; deploy it again")
        if not self._running(release.name):
            problem = self._start(release)
            if problem:
                raise GateError(f"cannot restart {digest}: {problem}")
        return self.switch(digest)

    def retire(self, keep: Collection[str]) -> None:
        """Stop the server of every release not in `keep`, then remove the releases beyond
        `keep = N` (see `_rank`); never one in `keep` nor the one `current` names."""
        kept = {release_key(digest) for digest in keep}
        self._stop_all(kept)
        self._prune(kept)

    def _stop_all(self, kept: Collection[str]) -> None:
        for run in sorted((self.store / "runs").glob("*.json")):
            if run.stem not in kept:
                self._stop(run)

    def _prune(self, kept: Collection[str]) -> None:
        folder = self.store / "releases"
        protected = {*kept, release_key(self.serving())}
        infos = folder.glob(f"[!.]*/{RELEASE_INFO}")
        installed = sorted((info.parent for info in infos), key=self._rank, reverse=True)
        spare = self.settings.keep - sum(1 for release in installed if release.name in protected)
        others = [release for release in installed if release.name not in protected]
        for release in others[max(spare, 0) :]:
            os.rename(release, folder / f".pruned-{release.name}")  # never half-removed in place
            (self.store / "served" / release.name).unlink(missing_ok=True)
        for doomed in folder.glob(".pruned-*"):  # and any a crash left behind
            shutil.rmtree(doomed)

    def _rank(self, release: Path) -> tuple[bool, float]:
        """Releases that served, the most recent first, come before those that never did (a
        rollback looks for an earlier good release), which go newest installed first."""
        served = self.store / "served" / release.name
        if served.is_file():
            return True, served.stat().st_mtime
        return False, (release / RELEASE_INFO).stat().st_mtime

    def probe(self) -> Check | None:
        """The local target has no health check of its own: HTTP checks cover it."""
        return None

    def shutdown(self) -> int:
        """Stop every server and the router; return how many were running.

        The router's record stays, so its port (the stable endpoint) is reused when it starts
        again; `current` stays too, and the next deploy or rollback starts what it needs.
        """
        running = [
            run for run in sorted((self.store / "runs").glob("*.json")) if self._running(run.stem)
        ]
        router = _read_json(self.store / "router.json")
        self._stop_all(())
        if router is not None and self.processes.alive(_proc(router)):
            self.processes.stop(_proc(router), _GRACE)
            running.append(self.store / "router.json")
        return len(running)

    def resume(self, digest: str) -> str:
        """Start the server of `digest` (which `current` names) again if it does not run, and
        the router; return the endpoint then, "" when it was running."""
        if self._running(release_key(digest)):
            return ""
        return self.restore(digest, digest)

    def _install(self, package: Package) -> Path:
        release = self.store / "releases" / release_key(package.digest)
        if (release / RELEASE_INFO).is_file():
            return release
        shutil.rmtree(release, ignore_errors=True)  # a half-installed release from a crash
        release.parent.mkdir(parents=True, exist_ok=True)
        manifest = unpack(package.path, release, package.digest)
        info = {
            "digest": package.digest,
            "entrypoint": manifest.entrypoint,
            "server": list(manifest.server or []),
            "pythonpath": list(manifest.pythonpath),
            "package": f"{manifest.name} {manifest.version}",
        }
        write_atomic(release / RELEASE_INFO, json.dumps(info, indent=2).encode())
        return release

    def _argv(self, info: Mapping[str, Any], launch: _Launch) -> list[str]:
        custom: Sequence[str] = info.get("server") or ()
        fill = {"{port}": str(launch.port), "{python}": sys.executable, "{fd}": str(launch.fd)}
        argv = [_fill(word, fill) for word in custom] if custom else _builtin(info, launch)
        if not launch.sandbox.bwrap:
            return argv
        # no host socket in the sandbox: the relay there gets each connection from the
        # supervisor over AF_UNIX; a `{fd}` server gets a socket bound in the sandbox's network
        relay = (sys.executable, "-m", "mlgate.pipelines.sandbox", "--fd", str(launch.fd))
        bind = ("--bind",) if _takes_fd(custom) else ()
        return [*relay, "--port", str(launch.port), *bind, "--", *argv]

    def _start(self, release: Path) -> str:
        """Start the release's server; return "" once it answers, else what went wrong."""
        self._stop(self.store / "runs" / f"{release.name}.json")
        info = _read_json(release / RELEASE_INFO) or {}
        confined = sandbox.choose(self.settings.sandbox)
        listener = bind_local(0)
        launch = _Launch(listener.fileno(), int(listener.getsockname()[1]), confined, release)
        log = self.store / "logs" / f"{release.name}.log"
        if not confined.bwrap and not _takes_fd(info.get("server") or ()):
            listener.close()  # an unconfined `{port}` server binds the port itself
        try:
            proc = self._spawn(info, release, launch, log)
        finally:
            listener.close()
        record = {**proc._asdict(), "port": launch.port, "digest": info.get("digest")}
        (self.store / "runs").mkdir(parents=True, exist_ok=True)
        run = {**record, "sandbox": confined.note}
        write_atomic(self.store / "runs" / f"{release.name}.json", json.dumps(run).encode())
        return self._wait(proc, launch.port, log, self.settings.start_timeout)

    def _spawn(self, info: Mapping[str, Any], release: Path, launch: _Launch, log: Path) -> Proc:
        given = {"MLGATE_DIGEST": str(info.get("digest")), "PORT": str(launch.port)}
        if launch.sandbox.bwrap or _takes_fd(info.get("server") or ()):
            given[LISTEN_FD] = str(launch.fd)
        argv = self._argv(info, launch)
        if launch.sandbox.bwrap:
            confined = sandbox_argv(launch.sandbox.bwrap, release, [self.store, *self.hidden])
            argv = [*_SUPERVISOR, "--fd", str(launch.fd), "--", *confined, *argv]
        else:
            warn_unconfined(launch.sandbox, self.settings.sandbox)
        env = server_env(os.environ, self.settings.env, given, bool(launch.sandbox.bwrap))
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as note:
            note.write(f"mlgate: starting {info.get('digest')}; sandbox: {launch.sandbox.note}\n")
        return self.processes.start(argv, release, log, env)

    def _wait(self, proc: Proc, port: int, log: Path, limit: float) -> str:
        deadline = self.clock.monotonic() + limit
        while not answering(port, min(max(deadline - self.clock.monotonic(), 0.001), 1.0)):
            if not self.processes.alive(proc):
                return f"the server exited before listening: {_last_line(log)} (log: {log})"
            if self.clock.monotonic() >= deadline:
                return f"the server did not listen on port {port} within {limit:g}s (log: {log})"
            self.clock.sleep(0.02)
        return ""

    def _run_port(self, key: str) -> int:
        run = _read_json(self.store / "runs" / f"{key}.json") or {}
        return int(run.get("port", 0))

    def _running(self, key: str) -> bool:
        run = _read_json(self.store / "runs" / f"{key}.json")
        if run is None:
            return False
        return self.processes.alive(_proc(run)) and listening(int(run["port"]))

    def _stop(self, record: Path) -> None:
        run = _read_json(record)
        if run is not None:
            self.processes.stop(_proc(run), _GRACE)
        record.unlink(missing_ok=True)

    def _ensure_router(self) -> int:
        router = _read_json(self.store / "router.json")
        if router and self.processes.alive(_proc(router)) and listening(int(router["port"])):
            return int(router["port"])
        port = self.settings.port or int((router or {}).get("port", 0))
        try:
            listener = bind_local(port)
        except OSError as err:
            raise GateError(
                f"127.0.0.1:{port} is taken by another program ({err.strerror}); stop it or set "
                "another port in the environment's target table; no release was started"
            ) from err
        with listener:
            port = int(listener.getsockname()[1])
            proc = self._start_router(listener.fileno())
        record = {**proc._asdict(), "port": port}
        write_atomic(self.store / "router.json", json.dumps(record).encode())
        problem = self._wait(proc, port, self.store / "logs" / "router.log", _ROUTER_START)
        if problem:
            raise GateError(f"cannot serve on 127.0.0.1:{port}: {problem}; free the port or set it")
        return port

    def _start_router(self, fd: int) -> Proc:
        """The router needs no secrets either: it reads the store and forwards requests."""
        argv = [sys.executable, "-m", "mlgate.pipelines.router", "--store", str(self.store)]
        env = server_env(os.environ, (), {LISTEN_FD: str(fd)})
        log = self.store / "logs" / "router.log"
        return self.processes.start([*argv, "--fd", str(fd)], self.store, log, env)


class _Launch(NamedTuple):
    """A server about to start: its listening socket and that socket's port, its sandbox and
    its release folder."""

    fd: int
    port: int
    sandbox: Sandbox
    release: Path


def _takes_fd(command: Sequence[str]) -> bool:
    """Whether a server command takes the listening socket (the built-in server does)."""
    return not command or any("{fd}" in word for word in command)


def _builtin(info: Mapping[str, Any], launch: _Launch) -> list[str]:
    return [
        *(sys.executable, "-m", "mlgate.pipelines.server", "--root", str(launch.release)),
        *("--entrypoint", str(info["entrypoint"]), "--fd", str(launch.fd)),
        *("--digest", str(info["digest"])),
        *(word for folder in info.get("pythonpath", ()) for word in ("--path", folder)),
    ]


def warn_unconfined(confined: Sandbox, mode: str) -> None:
    """Say once per start, on stderr, that a server runs without a sandbox it could have had."""
    if mode == "auto":
        print(
            f"mlgate: warning: model server not sandboxed ({confined.note}); install bubblewrap, "
            'or set sandbox = "off" in the target table to accept that',
            file=sys.stderr,
        )


def unpack(source: Path, release: Path, digest: str) -> Manifest:
    """Extract the package at `source` into the new folder `release`, reading it once: its
    manifest must have `digest` (the approved one) before any file is written, every file the
    size the manifest gives (checked before it is written) and its sha256 (checked after)."""
    temp = Path(tempfile.mkdtemp(prefix=f".{release.name}.", dir=release.parent))
    try:
        members = read_planned(source, MANIFEST_NAME, _plan(digest), _writer(temp))
        manifest = parse_manifest(members[0].data or b"")
        _same_files(manifest, {m.name: m.sha256 for m in members[1:]})
        temp.chmod(0o755)
        os.rename(temp, release)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)  # nothing half-extracted stays behind
        raise
    return manifest


def _plan(digest: str) -> Plan:
    def sizes(data: bytes) -> Mapping[str, int]:
        found = digest_bytes(data)
        if found != digest:
            raise PackageError(
                f"the package file changed after it was checked: it now holds {found}, not the "
                f"approved {digest}; nothing of it was installed; deploy it again"
            )
        return {entry.path: entry.size for entry in parse_manifest(data).files}

    return sizes


def _writer(folder: Path) -> Sink:
    def create(name: str, mode: int) -> IO[bytes]:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("xb")
        path.chmod(0o755 if mode & 0o100 else 0o644)
        return stream

    return create


def _same_files(manifest: Manifest, hashes: Mapping[str, str]) -> None:
    for entry in manifest.files:
        if hashes.get(entry.path) != entry.sha256:
            raise PackageError(
                f"{entry.path} is missing or does not match its sha256 in the manifest; refusing it"
            )


def _proc(record: Mapping[str, Any]) -> Proc:
    """The process a run record names (records written without a start time match any)."""
    return Proc(int(record["pid"]), str(record.get("started", "")))


def _fill(word: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        word = word.replace(key, value)
    return word
