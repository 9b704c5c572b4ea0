"""The GitHub Classroom workflow and the results its grading step hands the reporter.

The witnesses below restate `classroom-resources/autograding-grading-reporter@v1` (tag `v1`,
commit d13b5912): `src/main.js` reads `process.env[runner.trim().toUpperCase() + "_RESULTS"]`,
decodes it with `Buffer.from(value, "base64").toString("utf-8")` and `JSON.parse`;
`src/notify-classroom.js` sends Classroom the sum of every test's `score` over the sum of the
runners' `max_score`; `src/helpers/test-helpers.js` (`getTestScore`) prints a runner's score as the
fraction of its tests with status `pass` times its `max_score`.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from keras_vae import classroom
from tests.grading import max_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The reporter's dist/main.js at tag v1, where a checkout of it is at hand.
REPORTER_JS = os.environ.get("KERAS_VAE_CLASSROOM_REPORTER")


def rubric_items():
    from keras_vae.graded import rubric

    return rubric.rubric()


def reporter_decode(encoded):
    """`src/main.js`: Buffer.from(encoded, "base64").toString("utf-8"), then JSON.parse."""
    return json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))


def classroom_points(results):
    """`src/notify-classroom.js`: (totalPoints, maxPoints) over runners with a max_score."""
    counted = [r for r in results if r.get("max_score")]
    return (sum(test["score"] for r in counted for test in r["tests"]),
            sum(r["max_score"] for r in counted))


def table_score(result):
    """`src/helpers/test-helpers.js` getTestScore: passed fraction times max_score."""
    passed = sum(test["status"] == "pass" for test in result["tests"])
    return passed / len(result["tests"]) * (result.get("max_score") or 0)


def reporter_env(workflow, outputs):
    """The reporter step's environment, with `${{steps.grader.outputs.NAME}}` filled in."""
    env = {}
    for key, name in re.findall(r'^ {8}(\S+): "\$\{\{steps\.grader\.outputs\.([a-z0-9-]+)\}\}"$',
                                workflow, re.MULTILINE):
        env[key] = outputs[name]
    runners = re.search(r"^ {8}runners: (\S+)$", workflow, re.MULTILINE).group(1)
    return env, runners.split(",")


def rows_for(passed):
    return [{"id": item.id, "points": item.points, "title": item.title,
             "status": "passed" if item.id in passed else "failed",
             "message": "" if item.id in passed else "wrong value"} for item in rubric_items()]


def test_workflow_has_classrooms_names_and_one_job():
    """The workflow is Classroom's: name, triggers, permissions, one job, bot guard, reporter."""
    text = classroom.workflow_yaml()
    for line in ("name: Autograding Tests\n", "'on':\n- push\n- repository_dispatch\n"
                 "- workflow_dispatch\n", "permissions:\n  checks: write\n  actions: read\n"
                 "  contents: read\n", "jobs:\n  run-autograding-tests:\n",
                 "    if: github.actor != 'github-classroom[bot]'\n",
                 "      id: grader\n"
                 "      run: python -m keras_vae.classroom --impl assignments\n",
                 "      uses: classroom-resources/autograding-grading-reporter@v1\n"):
        assert line in text, f"expected {line!r} in the workflow, received:\n{text}"
    jobs = re.findall(r"^  (\S+):$", text.split("jobs:\n", 1)[1], re.MULTILINE)
    assert jobs == ["run-autograding-tests"], f"expected one job, received {jobs}"
    assert "\t" not in text and text.endswith("\n")


def test_workflow_parses_as_yaml_where_pyyaml_is_installed():
    """Where PyYAML is installed, the workflow loads to the structure GitHub reads."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(classroom.workflow_yaml())
    assert workflow["on"] == ["push", "repository_dispatch", "workflow_dispatch"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    reporter = steps[-1]
    runners = reporter["with"]["runners"].split(",")
    assert set(reporter["env"]) == {f"{name.upper()}_RESULTS" for name in runners}
    assert [s.get("id") for s in steps].count("grader") == 1


def test_every_rubric_item_is_a_runner_the_reporter_can_find():
    """Each rubric item has its own runner, env variable and step output, in rubric order."""
    ids = [item.id for item in rubric_items()]
    workflow = classroom.workflow_yaml()
    env, runners = reporter_env(workflow, {classroom.runner_name(i): "x" for i in ids})
    assert runners == [classroom.runner_name(i) for i in ids]
    assert len(set(runners)) == len(ids), \
        f"expected {len(ids)} distinct runners, received {runners}"
    for name in runners:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert f"{name.strip().upper()}_RESULTS" in env, f"no env variable for runner {name}"
    assert classroom.runner_name("kl_layer.batch_size_independent") == \
        "kl-layer-batch-size-independent"


def test_runner_names_that_collide_are_a_value_error():
    """Two ids with one runner name are refused, naming `item_ids`."""
    with pytest.raises(ValueError, match="Invalid value for `item_ids`"):
        classroom.workflow_yaml(["kl.tfp", "kl_tfp"])


def test_results_score_points_per_item_in_classroom_and_in_the_table():
    """A failed 2-point item costs 2 points, in Classroom's grade and in the reporter's table."""
    rows = [{"id": "a.one", "points": 1, "title": "A.", "status": "passed", "message": ""},
            {"id": "b.two", "points": 2, "title": "B.", "status": "failed", "message": "Off by 1."},
            {"id": "c.three", "points": 3, "title": "C.", "status": "passed", "message": ""}]
    results = [reporter_decode(value) for value in classroom.outputs(rows).values()]
    points = classroom_points(results)
    assert points == (4, 6), f"expected (4, 6) from Classroom's sum, received {points}"
    assert [table_score(r) for r in results] == [1, 0, 3]
    failed = results[1]
    assert failed["status"] == "fail" and failed["max_score"] == 2
    assert failed["tests"] == [{"name": "b.two: B.", "status": "fail", "score": 0,
                                "message": "Off by 1.", "test_code": "", "filename": "",
                                "line_no": 0, "duration": 0}]


def test_encoded_result_is_one_base64_line_the_reporter_decodes():
    """The encoding is strict base64 on one line and decodes, non-ASCII text included, to the
    same object."""
    result = classroom.reporter_result({"id": "gaussian.sigma", "points": 2, "title": "σ² ≥ 0.",
                                        "status": "failed", "message": "expected σ, got\nnan"})
    encoded = classroom.encode_result(result)
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", encoded), encoded
    assert reporter_decode(encoded) == result


@pytest.mark.slow
def test_grading_step_writes_every_runner_and_the_stubs_score_zero(tmp_path):
    """`python -m keras_vae.classroom` on the stubs writes one result per rubric item to
    $GITHUB_OUTPUT, each scoring 0 of its points, 0 of the rubric's maximum in all."""
    output = tmp_path / "github_output"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(GITHUB_OUTPUT=str(output), TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run([sys.executable, "-m", "keras_vae.classroom", "--impl",
                                "assignments"], cwd=ROOT, env=environment, capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert f"Score: 0/{max_score()}" in completed.stdout, completed.stdout[-2000:]
    lines = output.read_text().splitlines()
    outputs = dict(line.split("=", 1) for line in lines)
    assert len(outputs) == len(lines) == len(rubric_items())
    env, runners = reporter_env(classroom.workflow_yaml(), outputs)
    results = {name: reporter_decode(env[f"{name.upper()}_RESULTS"]) for name in runners}
    points = {classroom.runner_name(item.id): item.points for item in rubric_items()}
    for name, result in results.items():
        assert result["max_score"] == points[name] and result["status"] == "fail", (name, result)
        assert [test["score"] for test in result["tests"]] == [0], (name, result)
    assert classroom_points(results.values()) == (0, max_score())


@pytest.mark.skipif(not (REPORTER_JS and os.path.isfile(REPORTER_JS) and shutil.which("node")),
                    reason="set KERAS_VAE_CLASSROOM_REPORTER to the reporter's dist/main.js "
                           "(tag v1) and install node to run the reporter itself")
def test_reporter_action_reports_partial_credit_item_by_item(tmp_path):
    """The reporter's own code, given the workflow's environment, reports the passed items'
    points to Classroom and prints the same total."""
    items = rubric_items()
    passed = {item.id for item in items[::2]}
    earned = sum(item.points for item in items if item.id in passed)
    env, runners = reporter_env(classroom.workflow_yaml(), classroom.outputs(rows_for(passed)))
    completed = subprocess.run(["node", REPORTER_JS], capture_output=True, text=True, timeout=60,
                               env={"PATH": os.environ["PATH"], "INPUT_RUNNERS": ",".join(runners),
                                    **env})
    report = json.dumps({"totalPoints": earned, "maxPoints": max_score()}, separators=(",", ":"))
    assert f"::notice title=Autograding report::{report}" in completed.stdout, \
        completed.stdout[-3000:]
    assert re.search(rf"Total:\s+│ {earned}\s+│ {max_score()}\s", completed.stdout), \
        completed.stdout[-1500:]
    assert "::error::Some tests failed." in completed.stdout


def test_grader_fault_fails_every_item_with_the_reason(monkeypatch):
    """If the grader itself raises, every item still gets a failed result saying why."""
    from keras_vae.graded import grading

    def broken(impl_name):
        raise RuntimeError("no sandbox")

    monkeypatch.setattr(grading, "grade", broken)
    rows = classroom._grade("assignments")
    assert [row["id"] for row in rows] == [item.id for item in rubric_items()]
    assert all(row["status"] == "failed" and "RuntimeError: no sandbox" in row["message"]
               for row in rows), rows[0]


def test_write_template_adds_the_workflow_to_the_student_files(tmp_path):
    """The template holds what the release writes and `.github/workflows/classroom.yml`."""
    destination = tmp_path / "template"

    def write_student_files(folder):
        os.makedirs(folder)
        (destination / "README.md").write_text("Student files.\n")

    path = classroom.write_template(str(destination), write_student_files)
    assert path == str(destination / ".github" / "workflows" / "classroom.yml")
    assert (destination / "README.md").read_text() == "Student files.\n"
    assert open(path).read() == classroom.workflow_yaml()
