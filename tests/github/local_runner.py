"""A small local stand-in for the GitHub Actions runner, for mlgate's own workflows.

It reads a workflow and mlgate's composite actions and runs their jobs the way the runner
would: `${{ }}` expressions evaluated (the subset mlgate's YAML uses), `if:` conditions with
the status functions, step and job `env:`, `$GITHUB_OUTPUT`, `$GITHUB_ENV`,
`$GITHUB_STEP_SUMMARY`, every `run:` script through `bash --noprofile --norc -eo pipefail`.
Third-party actions are stood in for: checkout and setup-python do nothing (the test prepares
the workspace and the interpreter), upload/download-artifact copy files through a folder,
upload-sarif and attest-build-provenance are recorded in the log. A job's runner can die in a
given step: the steps after it never run, as when GitHub loses a runner. The steps that
pip-install mlgate, the project and the coverage
tools are skipped: the test's environment (the dev extra) already has them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_STEPS = frozenset({"Install mlgate and the project", "Install the coverage tools"})
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<op>&&|\|\||==|!=|!|\(|\)|,)|(?P<name>[A-Za-z_][\w.-]*))"
)
OPERATORS = {"&&": " and ", "||": " or ", "!": " not ", "==": "==", "!=": "!="}
STATUS = ("always(", "success(", "failure(", "cancelled(")


def load_yaml(path: Path) -> dict[str, Any]:
    """A workflow or action as data, with `on` as a string key."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    assert isinstance(data, dict)
    return data


def _translate(expression: str) -> str:
    """A GitHub expression as Python source over `L(path)` lookups and `F[name]` functions."""
    out, position = [], 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        assert match, f"cannot read {expression[position:]!r}"
        position = match.end()
        kind, text = match.lastgroup, match[match.lastgroup or ""]
        if kind == "str":
            out.append(repr(text[1:-1].replace("''", "'")))
        elif kind == "op":
            out.append(OPERATORS.get(text, text))
        elif kind == "name" and expression[position:].lstrip().startswith("("):
            out.append(f"F[{text!r}]")
        elif kind == "name" and text in {"true", "false", "null"}:
            out.append({"true": "True", "false": "False", "null": "''"}[text])
        else:
            out.append(f"L({text!r})" if kind == "name" else text)
    return "".join(out)


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, Mapping) else ""
    return value


def evaluate(expression: str, context: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (without the `${{ }}`)."""
    functions: dict[str, Callable[..., Any]] = {
        "format": lambda text, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m[1])]), text),
        "always": lambda: True,
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "cancelled": lambda: False,
        "hashFiles": lambda *patterns: "hash" if _any_file(context, patterns) else "",
    }
    source = _translate(expression)
    namespace = {"L": lambda path: _lookup(context, path), "F": functions}
    return eval(source, {"__builtins__": {}}, namespace)  # only mlgate's own YAML is evaluated


def _any_file(context: Mapping[str, Any], patterns: tuple[str, ...]) -> bool:
    workspace = Path(context["github"]["workspace"])
    return any(any(workspace.glob(pattern)) for pattern in patterns)


def interpolate(value: Any, context: Mapping[str, Any]) -> str:
    """A YAML value with every `${{ }}` replaced by its value, as the runner passes it on."""
    if not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return EXPRESSION.sub(lambda m: _text(evaluate(m[1], context)), value)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def condition(expression: Any, context: Mapping[str, Any], status: str) -> bool:
    """Whether a step or job with this `if:` runs, given the status so far."""
    if expression is None:
        return status == "success"
    text = EXPRESSION.sub(lambda m: m[1], str(expression))
    implicit = not any(name in text for name in STATUS)
    return bool(evaluate(text, context, status)) and (status == "success" or not implicit)


@dataclass
class Runner:
    """One workflow run on this machine."""

    workspace: Path
    inputs: dict[str, Any]
    github: dict[str, Any]
    base_env: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    artifacts: Path = Path()
    log: list[str] = field(default_factory=list)

    def context(self, needs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The expression context of a job."""
        runner = {"temp": self.base_env.get("RUNNER_TEMP", "")}
        runner["environment"] = self.base_env.get("RUNNER_ENVIRONMENT", "")
        return {
            "inputs": self.inputs,
            "github": self.github,
            "runner": runner,
            "secrets": self.secrets,
            "vars": {},
            "needs": dict(needs or {}),
            "steps": {},
        }


@dataclass
class Job:
    """The state of one job while it runs."""

    runner: Runner
    context: dict[str, Any]
    env: dict[str, str]
    summary: Path
    status: str = "success"


def with_defaults(workflow: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow_call inputs: the defaults, overridden by what the caller passes."""
    declared = workflow["on"]["workflow_call"]["inputs"]
    return {name: given.get(name, spec.get("default", "")) for name, spec in declared.items()}


def run_job(
    runner: Runner,
    workflow: dict[str, Any],
    name: str,
    needs: Mapping[str, Any],
    dies_in: str = "",
) -> dict[str, Any]:
    """Run job `name` after `needs` (name -> {"result", "outputs"}); return its result.

    With `dies_in`, the runner is lost while that step runs: no later step runs (not even the
    `always()` ones) and the job fails, as on GitHub.
    """
    spec = workflow["jobs"][name]
    context = runner.context(needs)
    failed = any(need["result"] != "success" for need in needs.values())
    if not condition(spec.get("if"), context, "failure" if failed else "success"):
        return {"result": "skipped", "outputs": {}}
    env = {key: interpolate(value, context) for key, value in spec.get("env", {}).items()}
    job = Job(runner, context, env, runner.artifacts.parent / f"summary-{name}.md")
    for step in spec["steps"]:
        _step(job, step, ROOT)
        if step.get("name") == dies_in:
            job.status = "failure"
            runner.log.append(f"job {name}: runner lost in {dies_in!r}")
            break
    outputs = {key: interpolate(value, context) for key, value in spec.get("outputs", {}).items()}
    runner.log.append(f"job {name}: {job.status}")
    environment = spec.get("environment")
    if isinstance(environment, dict) and "url" in environment:
        runner.log.append(f"environment url: {interpolate(environment['url'], context)}")
    return {"result": job.status, "outputs": outputs}


def _step(job: Job, step: dict[str, Any], action_dir: Path) -> None:
    if not condition(step.get("if"), job.context, job.status):
        return
    if step.get("name") in SKIPPED_STEPS:
        return
    env = {key: interpolate(value, job.context) for key, value in step.get("env", {}).items()}
    uses = step.get("uses", "")
    if uses.startswith("mlgate/mlgate/pipelines/"):
        ok = _composite(job, step, uses.split("/")[3].split("@")[0], env)
    elif uses:
        ok = _third_party(job, uses.split("@")[0], step.get("with", {}))
    else:
        ok = _script(job, step, env, action_dir)
    if not ok:
        job.status = "failure"


def _composite(job: Job, step: dict[str, Any], stage: str, env: dict[str, str]) -> bool:
    action_dir = ROOT / "pipelines" / stage
    action = load_yaml(action_dir / "action.yml")
    given = {key: interpolate(value, job.context) for key, value in step.get("with", {}).items()}
    inputs = {
        name: given.get(name, interpolate(spec.get("default", ""), job.context))
        for name, spec in action.get("inputs", {}).items()
    }
    inner = Job(
        job.runner, {**job.context, "inputs": inputs, "steps": {}}, {**job.env, **env}, job.summary
    )
    for inner_step in action["runs"]["steps"]:
        _step(inner, inner_step, action_dir)
    outputs = {
        key: interpolate(spec["value"], inner.context)
        for key, spec in action.get("outputs", {}).items()
    }
    job.env.update({k: v for k, v in inner.env.items() if k not in env})
    if "id" in step:
        job.context["steps"][step["id"]] = {"outputs": outputs}
    job.runner.log.append(f"  {stage}: {inner.status}")
    return inner.status == "success"


def _third_party(job: Job, action: str, given: Mapping[str, Any]) -> bool:
    values = {key: interpolate(value, job.context) for key, value in given.items()}
    workspace = job.runner.workspace
    if action == "actions/upload-artifact":
        store = job.runner.artifacts / values["name"]
        store.mkdir(parents=True, exist_ok=True)
        for path in values["path"].split("\n"):
            if path.strip():
                shutil.copy2(workspace / path.strip(), store)
    elif action == "actions/download-artifact":
        target = workspace / values["path"]
        shutil.copytree(job.runner.artifacts / values["name"], target, dirs_exist_ok=True)
    job.runner.log.append(f"  {action}")
    return True


def _script(job: Job, step: dict[str, Any], env: dict[str, str], action_dir: Path) -> bool:
    folder = job.runner.workspace / interpolate(step.get("working-directory", "."), job.context)
    files = {name: job.summary.parent / f"{name}-{len(job.runner.log)}" for name in ("out", "env")}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    environ = {**job.runner.base_env, **job.env, **env, **_files(job, files, action_dir)}
    script = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", str(step["run"])]
    done = subprocess.run(
        script, cwd=folder, env=environ, capture_output=True, text=True, check=False
    )
    job.runner.log.append(f"  {step.get('name')}: {done.returncode}\n{done.stdout}{done.stderr}")
    if "id" in step:
        job.context["steps"][step["id"]] = {"outputs": _pairs(files["out"])}
    job.env.update(_pairs(files["env"]))
    return done.returncode == 0


def _files(job: Job, files: Mapping[str, Path], action_dir: Path) -> dict[str, str]:
    return {
        "GITHUB_OUTPUT": str(files["out"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_STEP_SUMMARY": str(job.summary),
        "GITHUB_ACTION_PATH": str(action_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{job.runner.base_env['PATH']}",
    }


def _pairs(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def git(cwd: Path, *args: str) -> str:
    """git's stdout in `cwd`, committing as a fixed test identity."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
