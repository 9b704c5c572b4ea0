"""Grades the assignment on GitHub Classroom: the template's workflow and its grading step.

Usage: `python -m keras_vae.classroom [--impl MODULE]`

Classroom's autograding workflow ("Autograding Tests", job `run-autograding-tests`) ends with
`classroom-resources/autograding-grading-reporter@v1`. For each name in its `runners` input the
reporter reads the environment variable `<NAME upper-cased>_RESULTS`, decodes it from base64 and
parses the JSON object a grader action writes: `version`, `status` (`pass`, `fail` or `error`),
`max_score` and `tests`, each with `name`, `status`, `score`, `message`, `line_no`. The grade it
sends Classroom is the sum of every test's `score` over the sum of every runner's `max_score`
(`src/notify-classroom.js`); the table it prints scores a runner by the fraction of its tests that
pass times its `max_score` (`src/helpers/test-helpers.js`), which agrees with that sum only when a
runner's tests are worth the same. Each rubric item is therefore a runner of its own, with one test
and the item's points as `max_score`, and both show the rubric's points item by item.

The grading step runs the same grader as `python -m keras_vae.grade`, with the public seed: a
student's repository holds the workflow and the grader, so its grade is feedback, not a secret test.
"""

import base64
import json
import os
import re
import sys

from keras_vae import checks, cli
from keras_vae.impl import IMPL_HELP

STEP_ID = "grader"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
MESSAGE_LIMIT = 2000

WORKFLOW_HEAD = """\
name: Autograding Tests
'on':
- push
- repository_dispatch
- workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
    - name: Checkout code
      uses: actions/checkout@v4
    - name: Set up Python
      uses: actions/setup-python@v5
      with:
        python-version: '3.11'
        cache: pip
    - name: Install dependencies
      run: python -m pip install -r requirements.txt
    - name: Grade the rubric
      id: {step_id}
      run: python -m keras_vae.classroom --impl assignments
    - name: Autograding Reporter
      uses: {reporter}
      env:
"""


def runner_name(item_id):
    """The reporter's runner name of a rubric item: `"kl.closed_form"` -> `"kl-closed-form"`.

    It is also the grading step's output name, so it keeps to letters, digits and hyphens, which
    workflow expressions (`steps.grader.outputs.kl-closed-form`) and environment names accept.
    """
    return re.sub(r"[^a-z0-9]+", "-", item_id.lower()).strip("-")


def _item_ids():
    from keras_vae.graded import rubric

    return [item.id for item in rubric.rubric()]


def workflow_yaml(item_ids=None):
    """The text of `.github/workflows/classroom.yml`, one reporter runner per rubric item.

    Args:
        item_ids: rubric item ids, in rubric order (default: the rubric's).

    Raises:
        ValueError: two ids share a runner name.
    """
    runners = [runner_name(i) for i in (item_ids or _item_ids())]
    if len(set(runners)) != len(runners):
        raise checks.invalid("item_ids", "ids with distinct runner names", runners)
    env = "".join(f'        {name.upper()}_RESULTS: "${{{{steps.{STEP_ID}.outputs.{name}}}}}"\n'
                  for name in runners)
    return (WORKFLOW_HEAD.format(step_id=STEP_ID, reporter=REPORTER) + env
            + f"      with:\n        runners: {','.join(runners)}\n")


def reporter_result(row):
    """One rubric row as the result object of one reporter runner.

    Args:
        row: a grader row, a dict with `id`, `points`, `title`, `status` (`passed` or `failed`)
            and `message`.

    Returns:
        A dict in the grader actions' format (`autograding-command-grader@v1`, `src/main.js`):
        one test scoring `points` when the item passed, else 0, and `max_score = points`.
    """
    status = "pass" if row["status"] == "passed" else "fail"
    message = row["message"] or ("Passed." if status == "pass" else "Failed.")
    return {"version": 1, "status": status, "max_score": row["points"], "tests": [{
        "name": f"{row['id']}: {row['title']}", "status": status,
        "score": row["points"] if status == "pass" else 0, "message": message[:MESSAGE_LIMIT],
        "test_code": "", "filename": "", "line_no": 0, "duration": 0}]}


def encode_result(result):
    """A result object as the reporter reads it: compact UTF-8 JSON, base64, one line."""
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def outputs(rows):
    """The grading step's outputs: `{runner name: encoded result}` for every row."""
    return {runner_name(row["id"]): encode_result(reporter_result(row)) for row in rows}


def _grade(impl_name):
    """The grader's rows; if the grader itself fails, every item fails with the reason, so the
    reporter still finds a result for each of its runners."""
    from keras_vae.graded import grading
    from keras_vae.graded.report import not_graded

    try:
        rows, _ = grading.grade(impl_name)
        return rows
    except Exception as error:  # a fault in the grader, not in the submission
        return not_graded(f"the grader failed ({type(error).__name__}: {error})")[0]


def write_template(destination, write_student_files):
    """Writes a GitHub Classroom template repository into `destination`.

    Args:
        destination: folder to write; `write_student_files(destination)` fills it with the student
            files, then the workflow goes to `.github/workflows/classroom.yml`.
        write_student_files: callable writing the student files into a folder.

    Returns:
        The path of the workflow file.
    """
    write_student_files(destination)
    path = os.path.join(destination, ".github", "workflows", "classroom.yml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(workflow_yaml())
    return path


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m keras_vae.classroom", description=__doc__)
    parser.add_argument("--impl", default=None,
                        help=IMPL_HELP)
    args = parser.parse_args(argv)
    from keras_vae.graded import sandbox
    from keras_vae.graded.report import format_rubric

    sandbox.become_subreaper()
    rows = _grade(args.impl)
    print(format_rubric(rows))
    encoded = outputs(rows)
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a") as file:
            file.writelines(f"{name}={value}\n" for name, value in encoded.items())
    else:
        print(json.dumps({runner_name(row["id"]): reporter_result(row) for row in rows},
                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
