"""A class grading checked before anyone is graded: the folder, the students named, the seed and
the user that would run the submissions, refused in one line."""

import os
import shutil
import subprocess
import sys

import pytest

from keras_vae import grade
from keras_vae.graded import class_plan, sandbox
from tests.grading import ROOT

ALTERNATIVE = os.path.join(ROOT, "tests", "solutions", "alternative.py")
STUBS = os.path.join(ROOT, "assignments", "__init__.py")


def grade_class(*arguments):
    return subprocess.run([sys.executable, "-m", "keras_vae.grade", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def submit(class_dir, name, source):
    (class_dir / name / "assignments").mkdir(parents=True)
    shutil.copy(source, class_dir / name / "assignments" / "__init__.py")


def test_an_empty_class_is_refused_in_one_line(tmp_path):
    """An empty folder of submissions is bad input: one line, exit status 2, nothing written."""
    (tmp_path / "class").mkdir()
    out = tmp_path / "grades"
    completed = grade_class("--submissions", str(tmp_path / "class"), "--out", str(out))
    assert (completed.returncode, completed.stdout, completed.stderr) == (2, "", (
        f"error: Invalid value for `--submissions`: expected a folder of submissions (folders or "
        f".zip files), received '{tmp_path / 'class'}', which holds none.\n"))
    assert not out.exists()


def test_a_student_not_in_the_folder_is_refused_in_one_line(tmp_path, capsys):
    submit(tmp_path / "class", "alice", STUBS)
    status = grade.main(["--submissions", str(tmp_path / "class"), "--out",
                         str(tmp_path / "out"), "--student", "bob"])
    assert (status, *capsys.readouterr()) == (2, "", (
        f"error: Invalid value for `--student`: expected the name of a submission in "
        f"{tmp_path / 'class'}, received 'bob'.\n"))


def test_student_picks_the_named_submissions_of_the_folder(tmp_path):
    """--student NAME grades only the named students' submissions, folders or zips."""
    submit(tmp_path / "class", "alice", STUBS)
    submit(tmp_path / "class", "bob", STUBS)
    (tmp_path / "class" / "carol.zip").write_bytes(b"")
    plan = class_plan.plan(str(tmp_path / "class"), ["carol", "alice"], 0, "public", "a test",
                          "none")
    assert [name for name, _ in plan.entries] == ["alice", "carol"]
    assert plan.entries[1][1] == str(tmp_path / "class" / "carol.zip")
    assert not plan.contained and plan.user.endswith(" (own user)")


def test_the_secret_seed_is_refused_to_a_grading_as_the_own_user(tmp_path, capsys):
    """With --seed-file, submissions may not run as the grader's own user (it could read the
    seed)."""
    submit(tmp_path / "class", "alice", STUBS)
    seed_file = tmp_path / "grading_seed"
    seed_file.write_text("1234\n")
    status = grade.main(["--submissions", str(tmp_path / "class"), "--out",
                         str(tmp_path / "out"), "--seed-file", str(seed_file),
                         "--sandbox-user", "none"])
    assert (status, *capsys.readouterr()) == (2, "", (
        "error: Invalid value for `--sandbox-user`: expected a user to run submissions as, with "
        "the secret seed (a submission run as your own user could read it), received 'none'.\n"))
    assert not (tmp_path / "out").exists()


def test_a_seed_file_that_holds_no_seed_is_refused_in_one_line(tmp_path):
    submit(tmp_path / "class", "alice", STUBS)
    (tmp_path / "seed").write_text("not a seed\n")
    completed = grade_class("--submissions", str(tmp_path / "class"), "--out",
                            str(tmp_path / "out"), "--seed-file", str(tmp_path / "seed"))
    assert completed.returncode == 2 and completed.stdout == "", completed
    assert completed.stderr.startswith(
        f"error: Invalid value for `--seed-file`: expected the grading_seed file or the "
        f"autograder.zip of a release, received '{tmp_path / 'seed'}', which holds no seed (")
    assert completed.stderr.count("\n") == 1, completed.stderr


def test_a_class_that_would_run_as_the_graders_own_user_is_refused_before_grading(tmp_path):
    """Where the sandbox user cannot run this Python (a venv under /root) or the grader is not
    root, the class is refused in one line naming why and the two ways out."""
    user, note = sandbox.sandbox_user(sandbox.DEFAULT_USER, sys.executable)
    if user is not None:
        pytest.skip("the sandbox user can run this Python here: nothing to refuse")
    submit(tmp_path / "class", "alice", ALTERNATIVE)
    out = tmp_path / "out"
    completed = grade_class("--submissions", str(tmp_path / "class"), "--out", str(out))
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == (
        f"error: Invalid value for `--sandbox-user`: expected a user that can run the grader's "
        f"Python, so that no submission runs as the grader's own user, received "
        f"'{sandbox.DEFAULT_USER}', which is refused: {note}. {class_plan.FIX_HINT}.\n")
    assert "--sandbox-user none" in completed.stderr and "outside a private home" in (
        completed.stderr)
    assert not out.exists()
