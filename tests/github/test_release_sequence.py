"""The release workflow's jobs, run locally the way GitHub runs them, on a real project.

`local_runner` reads `.github/workflows/mlgate-release.yml` and the composite actions and runs
their scripts with the same environment variables the runner sets; the local target stands in
for production and a bare repository for GitHub (the ledger branch is pushed to it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_runner import (
    ROOT,
    Runner,
    condition,
    evaluate,
    git,
    interpolate,
    load_yaml,
    run_job,
    with_defaults,
)

from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.manifest import MANIFEST_NAME
from mlgate.pipelines.runtime import LocalProcesses, SystemClock

RELEASE = load_yaml(ROOT / ".github" / "workflows" / "mlgate-release.yml")
CI = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")

TINY_PYPROJECT = """\
[project]
name = "tiny"
version = "1.0.0"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/tiny"]
entrypoint = "tiny.serve:load"

[[tool.mlgate.package.smoke]]
input = [1, 2]
expect = [2, 4]

[tool.mlgate.environments.staging]
target = { kind = "command", deploy = ["true"], rollback = ["true"] }

[tool.mlgate.environments.production]
target = { kind = "command", deploy = ["true"], rollback = ["true"] }
"""

TINY_SERVE = """\
\"\"\"Serve the tiny model: multiply by the factor in models/model.json.\"\"\"

import json
from pathlib import Path


def load():
    model = Path(__file__).parents[2] / "models" / "model.json"
    factor = json.loads(model.read_text())["factor"]
    return lambda rows: [row * factor for row in rows]
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small model project in a git repository."""
    project = tmp_path / "work"
    (project / "src" / "tiny").mkdir(parents=True)
    (project / "models").mkdir()
    (project / "pyproject.toml").write_text(TINY_PYPROJECT, encoding="utf-8")
    (project / "src" / "tiny" / "__init__.py").write_text("", encoding="utf-8")
    (project / "src" / "tiny" / "serve.py").write_text(TINY_SERVE, encoding="utf-8")
    (project / "models" / "model.json").write_text('{"factor": 2}\n', encoding="utf-8")
    git(tmp_path, "init", "-q", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "tiny model")
    return project


def runner_for(workspace: Path, **inputs: Any) -> Runner:
    """A run of the release workflow in `workspace`, GitHub being a bare repo beside it."""
    server = workspace.parent / "github"
    (server / "team").mkdir(parents=True, exist_ok=True)
    github = {
        "actor": "carol",
        "triggering_actor": "carol",
        "repository": "team/model",
        "run_id": "4242",
        "run_attempt": "1",
        "server_url": f"file://{server}",
        "token": "not-a-real-token",
        "workspace": str(workspace),
    }
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    base = clean | {f"GITHUB_{key.upper()}": value for key, value in github.items()}
    base |= {"RUNNER_TEMP": str(workspace.parent / "runner-temp")}
    base |= {"RUNNER_ENVIRONMENT": "self-hosted"}  # a deploy host; tests of hosted runners say so
    (workspace.parent / "runner-temp").mkdir(exist_ok=True)
    artifacts = workspace.parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    return Runner(workspace, with_defaults(RELEASE, inputs), github, base, artifacts=artifacts)


def test_the_build_job_builds_verifies_and_uploads_the_package(tiny: Path) -> None:
    runner = runner_for(tiny)
    build = run_job(runner, RELEASE, "build", {})
    assert build["result"] == "success", "\n".join(runner.log)
    digest = build["outputs"]["digest"]
    assert build["outputs"]["package"] == "tiny-1.0.0.mlpkg"
    assert build["outputs"]["artifact"] == "mlgate-package-4242-1"
    uploaded = runner.artifacts / "mlgate-package-4242-1" / "tiny-1.0.0.mlpkg"
    verified = subprocess.run(
        ["mlgate", "package", "verify", str(uploaded)], capture_output=True, text=True, check=True
    )
    assert verified.stdout == f"{uploaded}: ok tiny 1.0.0 {digest} (3 files)\n"
    record = json.loads(uploaded.with_name("tiny-1.0.0.mlpkg.provenance.json").read_text())
    assert (record["digest"], record["builder"], record["run_id"]) == (digest, "carol", "4242")
    assert "  actions/attest-build-provenance" in runner.log
    summary = (runner.artifacts.parent / "summary-build.md").read_text(encoding="utf-8")
    assert f"| `dist/tiny-1.0.0.mlpkg` | `{digest}` |" in summary


def test_a_deploy_job_refuses_a_package_that_is_not_the_build_jobs_before_anything_else(
    tiny: Path,
) -> None:
    runner = runner_for(tiny)
    runner.base_env["PATH"] = f"{tiny.parent / 'bin'}{os.pathsep}{runner.base_env['PATH']}"
    (tiny.parent / "bin").mkdir()
    (tiny.parent / "bin" / "gh").write_text(GH, encoding="utf-8")
    (tiny.parent / "bin" / "gh").chmod(0o755)
    build = run_job(runner, RELEASE, "build", {})
    (tiny / "models" / "model.json").write_text('{"factor": 5}\n', encoding="utf-8")
    other = subprocess.run(
        ["mlgate", "package", "build", "--out", str(tiny.parent / "other")],
        cwd=tiny,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    swapped = runner.artifacts / build["outputs"]["artifact"] / "tiny-1.0.0.mlpkg"
    shutil.copy2(other[0], swapped)
    staging = run_job(runner, RELEASE, "staging", {"build": build})
    log = "\n".join(runner.log[runner.log.index("job build: success") + 1 :])
    assert staging == {"result": "failure", "outputs": {"started": "true"}}
    assert f"::error::the package digest {other[1]} is not the build job's " in log
    assert "  Verify the attestation and the digest before anything else: 1\n" in log
    assert "actions/checkout" not in log  # nothing else ran: no checkout, no install, no deploy
    assert "mlgate deploy" not in log


def test_a_broken_project_fails_the_build_job(tiny: Path) -> None:
    (tiny / "pyproject.toml").write_text(
        TINY_PYPROJECT.replace("models/*.json", "nowhere/*.bin"), encoding="utf-8"
    )
    runner = runner_for(tiny)
    build = run_job(runner, RELEASE, "build", {})
    assert build["result"] == "failure"
    assert build["outputs"]["digest"] == ""
    assert not any(runner.artifacts.iterdir())


def test_the_build_command_runs_first_and_its_failure_stops_the_build(tiny: Path) -> None:
    (tiny / "models" / "model.json").unlink()
    make = "mkdir -p models && echo '{\"factor\": 3}' > models/model.json"
    runner = runner_for(tiny, **{"build-command": make})
    assert run_job(runner, RELEASE, "build", {})["result"] == "success", "\n".join(runner.log)
    assert "  Build the model files: 0\n" in runner.log
    failing = runner_for(tiny, **{"build-command": "echo training failed >&2; exit 3"})
    build = run_job(failing, RELEASE, "build", {})
    assert build["result"] == "failure"
    assert "  Build the model files: 3\ntraining failed\n" in failing.log
    assert not any("mlgate package build" in line for line in failing.log)


# --- the runner's expression subset ---------------------------------------------------------


CONTEXT = {
    "inputs": {
        "ledger-dir": "",
        "ledger-branch": "mlgate-ledger",
        "working-directory": ".",
        "install": "-e .",
        "install-in-deploy-jobs": True,
        "no-install": False,
    },
    "github": {"workspace": "/w", "base_ref": ""},
    "needs": {"build": {"result": "success", "outputs": {"package": "p.mlpkg"}}},
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        (
            "inputs.ledger-dir"
            " || (inputs.ledger-branch != '' && format('{0}/.l', github.workspace))",
            "/w/.l",
        ),
        ("github.base_ref && format('origin/{0}', github.base_ref) || ''", ""),
        ("needs.build.outputs.package", "p.mlpkg"),
        ("!cancelled() && inputs.ledger-dir == ''", True),
        ("needs.missing.result", ""),
        ("inputs.install-in-deploy-jobs && inputs.install || ''", "-e ."),
        ("inputs.no-install && inputs.install || ''", ""),
    ],
)
def test_expressions_evaluate_as_on_github(expression: str, value: object) -> None:
    assert evaluate(expression, CONTEXT) == value


def test_status_functions_decide_what_runs_after_a_failure() -> None:
    assert condition(None, CONTEXT, "success") is True
    assert condition(None, CONTEXT, "failure") is False
    assert condition("${{ inputs.ledger-dir == '' }}", CONTEXT, "failure") is False
    assert condition("${{ always() && inputs.ledger-dir == '' }}", CONTEXT, "failure") is True
    assert condition("${{ (failure() || cancelled()) }}", CONTEXT, "success") is False
    assert interpolate("run ${{ github.workspace }}: ${{ true }}", CONTEXT) == "run /w: true"


# --- the whole release of the example project -------------------------------------------------

EXAMPLE = ROOT / "examples" / "iris"
MARKER = "# Release environments."
ENVIRONMENTS = """# Release environments: short checks and free ports; the local target stands in
# for production. The ledger is signed: the release needs the MLGATE_LEDGER_KEY secret.
[tool.mlgate.ledger]
signed = true

[tool.mlgate.environments.staging]
target = { kind = "local", start-timeout = "90s" }

[tool.mlgate.environments.staging.approval]
approvers = ["alice", "bob"]

[tool.mlgate.environments.staging.verify]
requests = 3
bake = "0.3s"

[tool.mlgate.environments.production]
target = { kind = "local", start-timeout = "90s" }

[tool.mlgate.environments.production.approval]
approvers = ["alice", "bob"]
allow-self-approval = false

[tool.mlgate.environments.production.verify]
requests = 3
bake = "0.3s"
max-p95-latency = "LATENCY"
"""
#: `gh` as GitHub answers: the run's approvals (the login spelled as on GitHub, "Bob" for the
#: approvers list's "bob"), and `gh attestation verify`, recorded in gh.log beside it.
APPROVALS = [
    {"state": "approved", "environments": [{"name": "staging"}], "user": {"login": "alice"}},
    {"state": "approved", "environments": [{"name": "production"}], "user": {"login": "Bob"}},
]
GH = f"""#!/bin/sh
echo "gh $*" >> "$(dirname "$0")/gh.log"
case "$1" in
  api) echo '{json.dumps(APPROVALS)}' ;;
  attestation) exit 0 ;;
  *) exit 2 ;;
esac
"""
JOBS = ("build", "staging", "production", "rollback-staging", "rollback-production")
LEDGER_KEY = "a ledger key for the tests, 32 characters or more"
#: The job results of a release that reached production (no rollback job had to run).
REACHED_PRODUCTION = ["success", "success", "success", "skipped", "skipped"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project with its model trained (once for the module)."""
    project = tmp_path_factory.mktemp("example") / "iris"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("models", "dist", ".mlgate"))
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, capture_output=True)
    return project


@pytest.fixture
def example(trained: Path, tmp_path: Path) -> Iterator[Path]:
    """A clone of the trained example in a git repository, with test environments."""
    project = tmp_path / "iris"
    shutil.copytree(trained, project)
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    environments = ENVIRONMENTS.replace("LATENCY", "1s")
    (project / "pyproject.toml").write_text(text[: text.index(MARKER)] + environments, "utf-8")
    git(tmp_path, "init", "-q", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "iris")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text(GH, encoding="utf-8")
    (tmp_path / "bin" / "gh").chmod(0o755)
    yield project
    for environment in ("staging", "production"):  # stop the model servers of the local target
        subprocess.run(
            ["mlgate", "rollback", "--env", environment, "--if-interrupted"],
            cwd=project,
            capture_output=True,
            check=False,
        )
        _stop_servers(project, environment)


def _stop_servers(project: Path, environment: str) -> None:
    """Stop the servers and the router the local target started for `environment`."""
    config = release_config(project / "pyproject.toml", {})
    settings = config.environment(environment).target
    assert isinstance(settings, LocalSettings)
    LocalTarget(settings, LocalProcesses(), SystemClock()).shutdown()


def release(
    project: Path,
    secrets: dict[str, str] | None = None,
    jobs: tuple[str, ...] = JOBS,
    **inputs: Any,
) -> tuple[Runner, dict[str, dict[str, Any]]]:
    """Run the release workflow's `jobs` in their order, as GitHub would, on `project`."""
    runner = runner_for(project, **inputs)
    runner.secrets.update(secrets or {})
    runner.base_env["PATH"] = f"{project.parent / 'bin'}{os.pathsep}{runner.base_env['PATH']}"
    remote = Path(runner.github["server_url"].removeprefix("file://")) / "team" / "model.git"
    if not remote.exists():
        git(project.parent, "init", "-q", "--bare", str(remote))
    results: dict[str, dict[str, Any]] = {}
    for name in jobs:
        needs = {need: results[need] for need in _needs(name)}
        results[name] = run_job(runner, RELEASE, name, needs)
    return runner, results


def _needs(job: str) -> list[str]:
    needs = RELEASE["jobs"][job].get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def ledger_on_the_branch(
    workspace: Path,
    environment: str,
    branch: str = "mlgate-ledger",
    folder: str = ".",
    key: str = "",
) -> list[dict[str, Any]]:
    """The environment's ledger as pushed to the ledger branch, verified from a fresh clone."""
    clone = workspace.parent / f"ledger-{environment}"
    remote = workspace.parent / "github" / "team" / "model.git"
    shutil.rmtree(clone, ignore_errors=True)
    git(workspace.parent, "clone", "-q", "--branch", branch, str(remote), str(clone))
    env = {**os.environ, "MLGATE_LEDGER_DIR": str(clone), "MLGATE_LEDGER_KEY": key}
    verify = ["mlgate", "ledger", "verify", "--env", environment]
    cwd = workspace / folder
    done = subprocess.run(verify, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(", signatures valid\n" if key else "chain intact\n")
    lines = (clone / f"{environment}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def released_with_the_reviewers_approvals(example: Path) -> str:
    """Release the example, check the jobs, the signed ledger branch and the summary; the digest."""
    runner, results = release(example, {"MLGATE_LEDGER_KEY": LEDGER_KEY})
    log = "\n".join(runner.log)
    assert [results[job]["result"] for job in JOBS] == REACHED_PRODUCTION, log
    digest: str = results["build"]["outputs"]["digest"]
    production = ledger_on_the_branch(example, "production", key=LEDGER_KEY)
    approvals = [(e["by"], e["digest"]) for e in production if e["kind"] == "approval"]
    assert approvals == [("bob", digest)]
    assert [e["kind"] for e in production][-1] == "deploy-end"
    assert {e["digest"] for e in production} == {digest}
    staging = ledger_on_the_branch(example, "staging", key=LEDGER_KEY)
    assert all(entry["sig"] for entry in [*production, *staging])
    assert (staging[0]["by"], staging[0]["kind"]) == ("alice", "approval")
    summary = (runner.artifacts.parent / "summary-production.md").read_text(encoding="utf-8")
    assert f"| deploy | {digest[7:19]} | iris 1.0.0 | carol |" in summary
    assert summary.rstrip().endswith("| succeeded |  |")
    return digest


def test_a_release_reaches_production_then_a_failing_one_is_rolled_back(example: Path) -> None:
    first = released_with_the_reviewers_approvals(example)
    text = (example / "pyproject.toml").read_text(encoding="utf-8")
    text = text.replace('version = "1.0.0"', 'version = "1.1.0"')
    text = text.replace('max-p95-latency = "1s"', 'max-p95-latency = "0.001ms"')
    (example / "pyproject.toml").write_text(text, encoding="utf-8")
    git(example, "commit", "-qam", "1.1.0, with a latency budget no server meets")
    runner, results = release(example, {"MLGATE_LEDGER_KEY": LEDGER_KEY})
    log = "\n".join(runner.log)
    assert [results[job]["result"] for job in JOBS] == [
        "success",
        "success",
        "failure",
        "skipped",
        "success",
    ], log
    second = results["build"]["outputs"]["digest"]
    assert second != first
    production = ledger_on_the_branch(example, "production", key=LEDGER_KEY)
    assert ("deploy-start", second) in [(e["kind"], e["digest"]) for e in production]
    assert (production[-1]["kind"], production[-1]["digest"]) == ("deploy-end", first)
    releases = subprocess.run(
        ["mlgate", "releases", "--env", "production", "--format", "json"],
        cwd=example,
        env={**os.environ, "MLGATE_LEDGER_DIR": str(example / ".mlgate-ledger")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert first in releases.stdout
    # The last job ran `mlgate rollback --if-interrupted`: the deploy had finished (rolled back
    # by itself), so there was nothing left to undo and the job succeeded.
    assert "  rollback: success" in runner.log


# --- the release of the example in mlgate's own CI --------------------------------------------


@pytest.fixture
def ci_checkout(tmp_path: Path) -> Iterator[Path]:
    """mlgate's checkout as ci.yml's release job sees it: the example untrained, no reviewers."""
    workspace = tmp_path / "mlgate"
    project = workspace / "examples" / "iris"
    ignored = shutil.ignore_patterns("models", "dist", ".mlgate", "metrics.json", ".coverage*")
    shutil.copytree(EXAMPLE, project, ignore=ignored)
    git(tmp_path, "init", "-q", str(workspace))
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "mlgate")
    (tmp_path / "bin").mkdir()
    nobody = '#!/bin/sh\ncase "$1" in api) echo "[]" ;; attestation) exit 0 ;; esac\n'
    (tmp_path / "bin" / "gh").write_text(nobody, encoding="utf-8")  # nobody approved
    (tmp_path / "bin" / "gh").chmod(0o755)
    yield workspace
    for environment in ("ci-staging", "ci-production"):
        _stop_servers(project, environment)


def predict(port: int, rows: list[list[float]]) -> Any:
    """The answer of the model behind the environment's stable port."""
    body = json.dumps({"input": rows}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=body)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_ci_trains_and_releases_the_example_with_the_inputs_ci_yml_gives(ci_checkout: Path) -> None:
    call = CI["jobs"]["example-release"]
    assert call["uses"] == "./.github/workflows/mlgate-release.yml"
    runner, results = release(ci_checkout, **call["with"])
    log = "\n".join(runner.log)
    assert [results[job]["result"] for job in JOBS] == REACHED_PRODUCTION, log
    assert "  Build the model files: 0\naccuracy 0.9" in log
    package = runner.artifacts / results["build"]["outputs"]["artifact"] / "iris-1.0.0.mlpkg"
    with tarfile.open(package) as archive:
        member = archive.extractfile(MANIFEST_NAME)
        assert member is not None
        manifest = json.load(member)
    assert manifest["metrics"]["accuracy"] >= 0.9
    assert "models/model.joblib" in [entry["path"] for entry in manifest["files"]]
    folder = call["with"]["working-directory"]
    for environment in ("ci-staging", "ci-production"):
        ledger = ledger_on_the_branch(ci_checkout, environment, "mlgate-ledger-example", folder)
        assert [entry["kind"] for entry in ledger][-1] == "deploy-end"
        assert {entry["digest"] for entry in ledger} == {results["build"]["outputs"]["digest"]}
    assert predict(8770, [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) == {"output": [0, 2]}
    assert "environment url: http://127.0.0.1:8770" in runner.log


# --- state that survives the runner: a command target and the ledger branch ------------------

#: The team's platform: it keeps what serves in a folder outside any runner. `deploy` switches
#: traffic at once; with `die-after-switch` present it then kills its caller, `mlgate deploy`,
#: as a runner that is lost between the switch and the bake would.
PLATFORM_OPS = """\
import os
import signal
import sys
from pathlib import Path

verb, env, digest = sys.argv[1:4]
state = Path(os.environ["TEAM_PLATFORM"]) / env
state.mkdir(parents=True, exist_ok=True)
serving = state / "serving"
if verb == "current":
    print(serving.read_text().strip() if serving.exists() else "")
    sys.exit(0)
with (state / "log").open("a") as log:
    log.write(f"{verb} {digest}\\n")
serving.write_text(digest + "\\n")
if verb == "deploy" and (state / "die-after-switch").exists():
    (state / "die-after-switch").unlink()
    os.kill(os.getppid(), signal.SIGKILL)
"""

PLATFORM_ENVIRONMENT = """
[tool.mlgate.environments.{env}]
approval = {{ required = false }}
verify = {{ requests = 1, bake = 0 }}

[tool.mlgate.environments.{env}.target]
kind = "command"
deploy = ["{python}", "{ops}", "deploy", "{{env}}", "{{digest}}"]
rollback = ["{python}", "{ops}", "rollback", "{{env}}", "{{digest}}"]
current = ["{python}", "{ops}", "current", "{{env}}", "-"]
health = ["true"]
timeout = "20s"
"""


@pytest.fixture
def on_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny project, deployed through a command target to a platform outside the runner."""
    ops = tmp_path / "platform-ops.py"
    ops.write_text(PLATFORM_OPS, encoding="utf-8")
    monkeypatch.setenv("TEAM_PLATFORM", str(tmp_path / "platform"))
    project = tmp_path / "work"
    (project / "src" / "tiny").mkdir(parents=True)
    (project / "models").mkdir()
    text = TINY_PYPROJECT[: TINY_PYPROJECT.index("[tool.mlgate.environments.staging]")]
    for env in ("staging", "production"):
        text += PLATFORM_ENVIRONMENT.format(env=env, python=sys.executable, ops=ops)
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    (project / ".gitignore").write_text("dist/\n.mlgate-ledger/\n.mlgate/\n", encoding="utf-8")
    (project / "src" / "tiny" / "__init__.py").write_text("", encoding="utf-8")
    (project / "src" / "tiny" / "serve.py").write_text(TINY_SERVE, encoding="utf-8")
    (project / "models" / "model.json").write_text('{"factor": 2}\n', encoding="utf-8")
    git(tmp_path, "init", "-q", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "tiny model")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text(GH, encoding="utf-8")
    (tmp_path / "bin" / "gh").chmod(0o755)
    return project


def serving(project: Path, env: str) -> str:
    """What the platform serves in `env`."""
    return (project.parent / "platform" / env / "serving").read_text().strip()


def fresh_runner(project: Path, name: str) -> Runner:
    """Another machine: a new clone of the repository, its own temp folder, no state at all."""
    workspace = project.parent / name / "work"
    workspace.parent.mkdir()
    git(project.parent, "clone", "-q", str(project), str(workspace))
    runner = runner_for(workspace)
    runner.github["server_url"] = f"file://{project.parent / 'github'}"
    runner.base_env["GITHUB_SERVER_URL"] = runner.github["server_url"]
    runner.base_env["PATH"] = f"{project.parent / 'bin'}{os.pathsep}{runner.base_env['PATH']}"
    return runner


def test_a_fresh_runner_rolls_back_a_deploy_that_died_between_switch_and_bake(
    on_platform: Path,
) -> None:
    runner, results = release(on_platform)
    assert [results[job]["result"] for job in JOBS] == REACHED_PRODUCTION, "\n".join(runner.log)
    good = results["build"]["outputs"]["digest"]
    assert serving(on_platform, "production") == good
    gh_log = (on_platform.parent / "bin" / "gh.log").read_text().splitlines()
    package = runner.base_env["RUNNER_TEMP"] + "/mlgate-release/tiny-1.0.0.mlpkg"
    signer = "--signer-workflow mlgate/mlgate/.github/workflows/mlgate-release.yml"
    assert [line for line in gh_log if line.startswith("gh attestation")][:2] == [
        f"gh attestation verify {package} --repo team/model {signer}",
        f"gh attestation verify {package}.provenance.json --repo team/model {signer}",
    ]
    (on_platform / "models" / "model.json").write_text('{"factor": 3}\n', encoding="utf-8")
    git(on_platform, "commit", "-qam", "factor 3")
    (on_platform.parent / "platform" / "production" / "die-after-switch").write_text("")
    runner, results = release(on_platform, jobs=("build", "staging"))
    bad = results["build"]["outputs"]["digest"]
    died = run_job(
        runner,
        RELEASE,
        "production",
        {"build": results["build"], "staging": results["staging"]},
        dies_in="Record the review, deploy, verify",
    )
    assert died == {"result": "failure", "outputs": {"started": "true"}}, "\n".join(runner.log)
    assert serving(on_platform, "production") == bad  # traffic switched, then the runner died
    # The write-ahead entry reached the ledger branch before the switch; nothing after it did.
    pushed = ledger_on_the_branch(on_platform, "production")
    assert [(entry["kind"], entry["digest"]) for entry in pushed][-1] == ("intent", bad)

    rescuer = fresh_runner(on_platform, "rescuer")
    rescued = run_job(
        rescuer, RELEASE, "rollback-production", {"build": results["build"], "production": died}
    )
    assert rescued["result"] == "success", "\n".join(rescuer.log)
    assert "  Install mlgate and the project" not in rescuer.log
    assert serving(on_platform, "production") == good
    log = (on_platform.parent / "platform" / "production" / "log").read_text().splitlines()
    assert log[-2:] == [f"deploy {bad}", f"rollback {good}"]
    after = ledger_on_the_branch(on_platform, "production")
    assert (after[-1]["kind"], after[-1]["digest"]) == ("deploy-end", good)
    assert "the process died after step" in json.dumps(after)


def test_a_rejected_review_or_a_failed_staging_runs_no_rollback_job(on_platform: Path) -> None:
    runner = runner_for(on_platform)
    built = {"result": "success", "outputs": {"digest": "sha256:" + "0" * 64}}
    rejected = {"result": "failure", "outputs": {"started": ""}}  # no step ever ran
    skipped = {"result": "skipped", "outputs": {"started": ""}}  # staging failed before it
    for production in (rejected, skipped):
        needs = {"build": built, "production": production}
        assert run_job(runner, RELEASE, "rollback-production", needs)["result"] == "skipped"
    assert runner.log == []


def test_a_cancelled_deploy_gets_a_rollback_job_that_finds_what_to_do(on_platform: Path) -> None:
    runner, results = release(on_platform)
    assert results["production"]["result"] == "success", "\n".join(runner.log)
    cancelled = {"result": "cancelled", "outputs": {"started": ""}}  # e.g. while waiting
    rescuer = fresh_runner(on_platform, "rescuer")
    needs = {"build": results["build"], "production": cancelled}
    rescued = run_job(rescuer, RELEASE, "rollback-production", needs)
    assert rescued["result"] == "success", "\n".join(rescuer.log)
    log = "\n".join(rescuer.log)
    assert "the last deployment to 'production' finished; nothing to roll back" in log
    assert serving(on_platform, "production") == results["build"]["outputs"]["digest"]


def test_a_github_hosted_runner_refuses_the_local_target_of_a_lasting_environment(
    example: Path,
) -> None:
    runner = runner_for(example)
    runner.base_env["RUNNER_ENVIRONMENT"] = "github-hosted"
    runner.base_env["PATH"] = f"{example.parent / 'bin'}{os.pathsep}{runner.base_env['PATH']}"
    build = run_job(runner, RELEASE, "build", {})
    staging = run_job(runner, RELEASE, "staging", {"build": build})
    assert staging["result"] == "failure"
    log = "\n".join(runner.log)
    assert "environment 'staging' uses the local target, whose releases and state vanish" in log
    assert "  mlgate deploy" not in log
