"""The embedded `local` target: a release store and model servers on 127.0.0.1.

Layout of the release store (one per environment):

    releases/<hex>/            one unpacked package per digest, with .mlgate-release.json
    current -> releases/<hex>  the release receiving traffic, switched by an atomic rename
    runs/<hex>.json            pid and port of the server running that release
    router.json                pid and port of the environment's stable endpoint
    logs/<hex>.log, logs/router.log

Each release runs its own server process on a free port: mlgate's built-in server
(`mlgate.pipelines.server`), or the package's own `server` command with `{port}` and `{python}`
filled in. Clients use the router's port, which forwards each request to the release `current`
names (`mlgate.pipelines.router`). A candidate is started and verified on its own port while the
previous release keeps answering; switching traffic is one rename. After a deploy the previous
release keeps running beside the new one, so that rolling back to it is one rename too. Every
process is detached: whatever happens to `mlgate` itself, the environment keeps serving the old
or the new release.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlgate.errors import GateError
from mlgate.pipelines.environments import LocalSettings
from mlgate.pipelines.ledger import fsync_dir, write_atomic
from mlgate.pipelines.package import Package, extract_package
from mlgate.pipelines.runtime import Clock, Proc, Processes, free_port, listening
from mlgate.pipelines.targets import Staged
from mlgate.pipelines.verify import Check

RELEASE_INFO = ".mlgate-release.json"
_GRACE = 2.0


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

    def __init__(self, settings: LocalSettings, processes: Processes, clock: Clock) -> None:
        self.settings = settings
        self.store = settings.state_dir
        self.processes = processes
        self.clock = clock

    def serving(self) -> str:
        """The digest `current` points to ("" when none)."""
        info = _read_json(self.store / "current" / RELEASE_INFO)
        return str(info["digest"]) if info else ""

    def stage(self, package: Package, previous: str) -> Staged:
        """Unpack `package` and start its server on a free port; the previous keeps serving."""
        release = self._install(package)
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
        """Stop the server of every release not in `keep`."""
        kept = {release_key(digest) for digest in keep}
        for run in sorted((self.store / "runs").glob("*.json")):
            if run.stem not in kept:
                self._stop(run)

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
        self.retire(())
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
        extract_package(package.path, release)
        manifest = package.manifest
        info = {
            "digest": package.digest,
            "entrypoint": manifest.entrypoint,
            "server": list(manifest.server or []),
            "pythonpath": list(manifest.pythonpath),
            "package": f"{manifest.name} {manifest.version}",
        }
        write_atomic(release / RELEASE_INFO, json.dumps(info, indent=2).encode())
        return release

    def _argv(self, info: Mapping[str, Any], release: Path, port: int) -> list[str]:
        custom: Sequence[str] = info.get("server") or ()
        if custom:
            fill = {"{port}": str(port), "{python}": sys.executable}
            return [_fill(word, fill) for word in custom]
        return [
            *(sys.executable, "-m", "mlgate.pipelines.server", "--root", str(release)),
            *("--entrypoint", str(info["entrypoint"]), "--port", str(port)),
            *("--digest", str(info["digest"])),
            *(word for folder in info.get("pythonpath", ()) for word in ("--path", folder)),
        ]

    def _start(self, release: Path) -> str:
        """Start the release's server; return "" once it listens, else what went wrong."""
        self._stop(self.store / "runs" / f"{release.name}.json")
        info = _read_json(release / RELEASE_INFO) or {}
        port = free_port()
        log = self.store / "logs" / f"{release.name}.log"
        env = {"MLGATE_DIGEST": str(info.get("digest")), "PORT": str(port)}
        proc = self.processes.start(self._argv(info, release, port), release, log, env)
        record = {**proc._asdict(), "port": port, "digest": info.get("digest")}
        (self.store / "runs").mkdir(parents=True, exist_ok=True)
        write_atomic(self.store / "runs" / f"{release.name}.json", json.dumps(record).encode())
        return self._wait(proc, port, log)

    def _wait(self, proc: Proc, port: int, log: Path) -> str:
        deadline = self.clock.monotonic() + self.settings.start_timeout
        while not listening(port):
            if not self.processes.alive(proc):
                return f"the server exited before listening: {_last_line(log)} (log: {log})"
            if self.clock.monotonic() >= deadline:
                limit = self.settings.start_timeout
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
        port = self.settings.port or int((router or {}).get("port", 0)) or free_port()
        if listening(port):
            raise GateError(f"127.0.0.1:{port} is taken by another program; set another port")
        argv = [sys.executable, "-m", "mlgate.pipelines.router", "--store", str(self.store)]
        log = self.store / "logs" / "router.log"
        proc = self.processes.start([*argv, "--port", str(port)], self.store, log, {})
        record = {**proc._asdict(), "port": port}
        write_atomic(self.store / "router.json", json.dumps(record).encode())
        problem = self._wait(proc, port, log)
        if problem:
            raise GateError(f"cannot serve on 127.0.0.1:{port}: {problem}; free the port or set it")
        return port


def _proc(record: Mapping[str, Any]) -> Proc:
    """The process a run record names (records written without a start time match any)."""
    return Proc(int(record["pid"]), str(record.get("started", "")))


def _fill(word: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        word = word.replace(key, value)
    return word
