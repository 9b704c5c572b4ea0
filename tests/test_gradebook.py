"""A whole class graded at once: one row per student with its status, re-grading replaces just
the rows graded again, refusals come before anyone is graded, and the class report agrees with
the gradebook."""

import csv
import json
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import jsonschema
import pytest

from keras_vae.graded import (class_plan, class_report, feedback, gradebook, report, rubric,
                               sandbox)
from tests.grading import ROOT, SCHEMA, max_score, venv_other_users_can_run

ALTERNATIVE = os.path.join(ROOT, "tests", "solutions", "alternative.py")
STUBS = os.path.join(ROOT, "assignments", "__init__.py")
FAILS_TO_IMPORT = os.path.join(ROOT, "tests", "solutions", "fails_to_import.py")
PROGRESS = re.compile(r"\s*(grading: +\d+%\|[^\r\n]*[\r\n]+)*")


def grade_class(*arguments, timeout=120):
    return subprocess.run([sys.executable, "-m", "keras_vae.grade", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def submit(class_dir, name, source, path="assignments/__init__.py"):
    (class_dir / name / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, class_dir / name / path)


def read_rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _results(message, passed=()):
    """results.json of a grading whose items all failed with `message`, but those `passed`."""
    rows = list(rubric.rows(rubric.rubric(), "failed", message).values())
    for row in rows:
        if row["id"] in passed:
            row.update(status="passed", message="")
    notes = {"seed": "public", "containment": "a test", "findings": []}
    return report.gradescope_results(rows, 1.0, report.format_rubric(rows), notes)


def test_an_import_error_reads_once_with_the_full_rubric():
    """A submission that failed to import is `import error`; its first item carries the error
    (without a pointer to another function), every other item points at it, the 42 items and
    the maximum stay."""
    error = feedback.import_failed("Python raised RuntimeError: a typo")
    status, results = gradebook.classify(_results(f"{error}\nFix reparameterize first: it fails"))
    assert status == "import error"
    tests = [t for t in results["tests"] if t["number"] != "instructor.review"]
    assert len(tests) == len(rubric.rubric()) and sum(t["max_score"] for t in tests) == max_score()
    assert tests[0]["output"] == error
    pointer = f"not graded: the submission failed to import, see {tests[0]['number']}."
    assert {t["output"] for t in tests[1:]} == {pointer}
    assert results["output"].count(error) == 1 and "Fix " not in results["output"]
    with open(SCHEMA) as file:
        jsonschema.validate(results, json.load(file))


@pytest.mark.parametrize("message, status", [
    (feedback.stopped("importing", "it exited with status 0"), "import error"),
    (feedback.stopped("importing", "importing took longer than 60 s"), "timed out"),
    (feedback.NOT_IMPLEMENTED, "graded"),
    (feedback.stopped("building", "took longer than the 60 s allowed (60 s per test)"),
     "timed out"),
    (feedback.did_not_run(900), "timed out"),
    ("not graded: nothing was run", "refused"),
])
def test_each_kind_of_finished_grading_gets_its_status(message, status):
    """An untouched stub is graded (0 points), unlike a submission that failed to import."""
    assert gradebook.classify(_results(message))[0] == status


def _without_figures(monkeypatch):
    """Class gradings in these tests skip drawing the report (tested in test_class_report)."""
    monkeypatch.setattr(class_report, "load_modules", lambda: None)
    monkeypatch.setattr(class_report, "write", lambda out, rows: None)


def test_regrading_replaces_only_the_rows_graded_again(tmp_path, monkeypatch):
    """Grading some students into an OUT with a gradebook keeps every other row as it was,
    replaces theirs and says so; a gradebook written before statuses were kept reads too."""
    _without_figures(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    items = [item.id for item in rubric.rubric()]
    with open(out / "gradebook.csv", "w", newline="") as file:  # the earlier format
        writer = csv.writer(file)
        writer.writerow(["name", "score", "maximum", *items])
        writer.writerow(["alice", max_score(), max_score(), *(i.points for i in rubric.rubric())])
        writer.writerow(["bob", 0, max_score(), *([0] * len(items))])
    monkeypatch.setattr(gradebook, "grade_one", lambda path, arguments, seconds: (
        "graded", _results("wrong", passed=items[:3])))
    plan = class_plan.Plan([("bob", "unused")], 1, "secret", "a file", "nobody", True)
    rows, replaced = gradebook.grade_class(plan, str(out))
    lines = read_rows(out / "gradebook.csv")
    assert [line["name"] for line in lines] == ["alice", "bob"]
    assert lines[0]["score"] == str(max_score()) and lines[0]["status"] == ""
    assert lines[1]["status"] == "graded" and lines[1]["seed"] == "public"
    assert int(lines[1]["score"]) == sum(i.points for i in rubric.rubric()[:3])
    assert list(replaced) == ["bob"]
    summary = gradebook.summary(str(out), rows, replaced, plan)
    assert summary[0] == f"Gradebook: {out / 'gradebook.csv'} (2 rows: 1 graded, 1 unknown)"
    assert summary[1].startswith(f"Replaced the row of bob: 0 -> {lines[1]['score']} of 54 (")
    assert summary[2] == "Kept 1 row of students not graded now."


def _can_grade_contained():
    return sandbox.sandbox_user(sandbox.DEFAULT_USER, sys.executable)[0] is not None


@pytest.mark.slow
def test_a_class_gets_a_row_and_a_status_per_student_and_a_regrade_keeps_the_others(tmp_path):
    """A correct, a nested stub, a misnamed, a zipped mistaken, an import failure, a hostile and
    a refused zip; then bob's corrected submission alone, into the same OUT."""
    class_dir = tmp_path / "class"
    submit(class_dir, "alice", ALTERNATIVE)
    submit(class_dir, "bob", STUBS, "upload/assignments/__init__.py")
    submit(class_dir, "carol", ALTERNATIVE, "vae.py")
    mistaken = open(ALTERNATIVE).read().replace("return tf.reduce_sum(tfd.kl_divergence(",
                                                "return -tf.reduce_sum(tfd.kl_divergence(")
    with zipfile.ZipFile(class_dir / "erin.zip", "w") as archive:
        archive.writestr("assignments/__init__.py", mistaken)
    submit(class_dir, "frank", FAILS_TO_IMPORT, "__init__.py")
    (class_dir / "grace.zip").write_text("not a zip")
    (class_dir / "mallory").mkdir()
    (class_dir / "mallory" / "__init__.py").write_text(
        "import glob, os\n"
        "for path in glob.glob('/tmp/**/results.json', recursive=True):\n"
        "    open(path, 'w').write('{}')\n"
        "os._exit(0)\n")
    out = tmp_path / "out"
    user = [] if _can_grade_contained() else ["--sandbox-user", "none"]
    completed = grade_class("--submissions", str(class_dir), "--out", str(out), "--workers", "2",
                            *user, timeout=1500)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert PROGRESS.fullmatch(completed.stderr), completed.stderr[-2000:]
    own = pwd.getpwuid(os.geteuid()).pw_name
    runs_as = f"{own} (own user)" if user else "fresh user ids, one for each stage"
    announced = [f"Grading 7 submissions with the public seed (the one students grade themselves "
                 f"on), run as {runs_as}.",
                 "Not the grade that counts: these are the public seed's inputs, the ones "
                 "students grade themselves on. For the grade that counts, pass --seed-file "
                 "RELEASE/grading_seed (written by python -m keras_vae.release)."]
    if user:
        announced.append("Not the grade that counts: submissions run as your own user, so one "
                         "could change your files or another's results.")
    assert completed.stdout.splitlines() == announced + [
        f"Gradebook: {out / 'gradebook.csv'} (7 rows: 3 graded, 2 import error, 1 no file "
        f"found, 1 refused)",
        *class_report.summary(str(out))], completed.stdout
    rows = {row["name"]: row for row in read_rows(out / "gradebook.csv")}
    assert list(next(iter(rows.values())))[:7] == list(gradebook.COLUMNS)
    status = {name: (row["status"], int(row["score"])) for name, row in rows.items()}
    assert status == {"alice": ("graded", max_score()), "bob": ("graded", 0),
                      "carol": ("no file found", 0), "erin": ("graded", status["erin"][1]),
                      "frank": ("import error", 0), "grace": ("refused", 0),
                      "mallory": ("import error", 0)}, status
    assert 0 < status["erin"][1] < max_score()
    for name, row in rows.items():
        results = json.loads((out / name / "results.json").read_text())
        with open(SCHEMA) as file:
            jsonschema.validate(results, json.load(file))
        assert sum(t["max_score"] for t in results["tests"]) == max_score(), name
        ran = row["status"] in ("graded", "import error")
        assert row["user"] == (runs_as if ran else "nothing was run"), row
        assert re.fullmatch(r"2\d{3}-\d\d-\d\dT[\d:]{8}\+00:00", row["graded_at"]), row
    assert "received vae.py" in json.loads((out / "carol" / "results.json").read_text())[
        "tests"][0]["output"]
    rates = {line["item"]: line for line in read_rows(out / class_report.RATES)}
    ran = [row for row in rows.values() if row["status"] == "graded"]
    for item in rubric.rubric():
        passed = sum(1 for row in ran if float(row[item.id]) == item.points)
        assert (int(rates[item.id]["passed"]), int(rates[item.id]["ran"])) == (passed, 3), item.id

    fixed = tmp_path / "resubmitted"
    submit(fixed, "bob", ALTERNATIVE)
    completed = grade_class("--submissions", str(fixed), "--out", str(out), *user, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    again = {row["name"]: row for row in read_rows(out / "gradebook.csv")}
    assert {name: row for name, row in again.items() if name != "bob"} == {
        name: row for name, row in rows.items() if name != "bob"}
    assert (again["bob"]["status"], int(again["bob"]["score"])) == ("graded", max_score())
    lines = completed.stdout.splitlines()
    assert lines[-5:-2] == [
        f"Gradebook: {out / 'gradebook.csv'} (7 rows: 3 graded, 2 import error, 1 no file "
        f"found, 1 refused)",
        f"Replaced the row of bob: 0 -> {max_score()} of {max_score()} "
        f"({rows['bob']['graded_at']} -> {again['bob']['graded_at']})",
        "Kept 6 rows of students not graded now."], completed.stdout


SEED_THIEF = """
import os
for pid in os.listdir("/proc"):
    try:
        words = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    if b"--seed-file" in words:
        path = words[words.index(b"--seed-file") + 1].decode()
        try:
            print("seed read:", open(path).read().strip())
        except OSError as error:
            print("seed refused:", type(error).__name__)
print("submission uid", os.geteuid())
"""


@pytest.mark.slow
def test_a_class_graded_as_root_with_the_release_seed_runs_submissions_contained(tmp_path):
    """From a venv other users can run, as root, with --seed-file: the class is graded with the
    secret seed as fresh user ids, says so everywhere, and no submission can read the seed."""
    folder = tempfile.mkdtemp(prefix="keras-vae-venv-", dir="/tmp")
    try:
        python = venv_other_users_can_run(pathlib.Path(folder))
        if python is None or subprocess.run(
                [python, "-c", "import sys; from keras_vae.graded import sandbox; "
                 "raise SystemExit(sandbox.sandbox_user('fresh', sys.executable)[0] is None)"],
                cwd=ROOT).returncode != 0:
            pytest.skip("no Python here that root and fresh user ids can both run")
        release_dir = tmp_path / "release"
        subprocess.run([python, "-m", "keras_vae.release", "--out", str(release_dir)], cwd=ROOT,
                       check=True, capture_output=True)
        class_dir = tmp_path / "class"
        (class_dir / "alice").mkdir(parents=True)
        (class_dir / "alice" / "__init__.py").write_text(open(ALTERNATIVE).read() + SEED_THIEF)
        out = tmp_path / "out"
        completed = subprocess.run(
            [python, "-m", "keras_vae.grade", "--submissions", str(class_dir), "--out", str(out),
             "--seed-file", str(release_dir / "grading_seed")], cwd=ROOT, capture_output=True,
            text=True, timeout=900)
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert completed.stdout.splitlines()[:2] == [
            f"Grading 1 submission with the secret seed (from {release_dir / 'grading_seed'}), "
            "run as fresh user ids, one for each stage.",
            f"Gradebook: {out / 'gradebook.csv'} (1 row: 1 graded)"], completed.stdout
        row = read_rows(out / "gradebook.csv")[0]
        assert (row["score"], row["seed"], row["user"]) == (
            str(max_score()), "secret", "fresh user ids, one for each stage"), row
        results = json.loads((out / "alice" / "results.json").read_text())
        assert results["extra_data"]["seed"] == "secret"
        review = next(t for t in results["tests"] if t["number"] == "instructor.review")["output"]
        assert "seed read" not in review and "seed refused: PermissionError" in review, review
        assert "submission uid 0" not in review, review
    finally:
        shutil.rmtree(folder)


def test_a_row_where_nothing_ran_names_no_user(tmp_path, monkeypatch):
    """A submission without a file is `no file found`, its seed `not used`, run by no one."""
    _without_figures(monkeypatch)
    monkeypatch.setattr(gradebook, "grade_one", lambda path, arguments, seconds: (
        "no file found", report.not_graded("expected assignments/__init__.py")[1]))
    plan = class_plan.Plan([("carol", "unused")], 0, "public", "a test", "nobody", True)
    rows, _ = gradebook.grade_class(plan, str(tmp_path))
    assert (rows["carol"].status, rows["carol"].seed, rows["carol"].user, rows["carol"].score) == (
        "no file found", "not used", "nothing was run", 0)


def test_the_class_grading_imports_nothing_once_a_submission_runs(tmp_path, monkeypatch):
    """Every module the gradebook and the report need is imported before the first grading
    starts, so root imports nothing a submission could have planted."""
    imported = {}

    def grade_one(path, arguments, seconds):
        imported.setdefault("first grading", set(sys.modules))
        return "graded", _results("wrong")

    monkeypatch.setattr(gradebook, "grade_one", grade_one)
    plan = class_plan.Plan([("alice", "unused"), ("bob", "unused")], 0, "public", "a test",
                          "nobody", True)
    gradebook.grade_class(plan, str(tmp_path), workers=1)
    late = sorted(set(sys.modules) - imported["first grading"])
    assert late == [], f"expected no module imported after the first grading, received {late}"
