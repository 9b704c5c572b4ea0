"""A whole class graded at once: one row per student, and no submission affects another."""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.grading import ROOT, max_score

ALTERNATIVE = os.path.join(ROOT, "tests", "solutions", "alternative.py")


def test_an_empty_class_gets_a_gradebook_of_its_header(tmp_path):
    (tmp_path / "class").mkdir()
    out = tmp_path / "grades" / "week1"
    completed = subprocess.run(
        [sys.executable, "-m", "keras_vae.grade", "--submissions", str(tmp_path / "class"),
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (completed.returncode, completed.stdout) == (0, f"Gradebook: {out / 'gradebook.csv'}\n")
    with open(out / "gradebook.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 1 and rows[0][:3] == ["name", "score", "maximum"]


@pytest.mark.slow
def test_a_folder_of_submissions_becomes_a_gradebook(tmp_path):
    """A correct, a nested stub, a misnamed, a zipped mistaken and a hostile submission."""
    class_dir = tmp_path / "class"
    (class_dir / "alice" / "assignments").mkdir(parents=True)
    shutil.copy(ALTERNATIVE, class_dir / "alice" / "assignments" / "__init__.py")
    (class_dir / "bob" / "upload" / "assignments").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "assignments", "__init__.py"),
                class_dir / "bob" / "upload" / "assignments" / "__init__.py")
    (class_dir / "carol").mkdir()
    shutil.copy(ALTERNATIVE, class_dir / "carol" / "vae.py")
    mistaken = open(ALTERNATIVE).read().replace("return tf.reduce_sum(tfd.kl_divergence(",
                                                "return -tf.reduce_sum(tfd.kl_divergence(")
    with zipfile.ZipFile(class_dir / "erin.zip", "w") as archive:
        archive.writestr("assignments/__init__.py", mistaken)
    (class_dir / "mallory").mkdir()
    (class_dir / "mallory" / "__init__.py").write_text(
        "import glob, os\n"
        "for path in glob.glob('/tmp/**/results.json', recursive=True):\n"
        "    open(path, 'w').write('{}')\n"
        "os._exit(0)\n")
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "keras_vae.grade", "--submissions", str(class_dir), "--out",
         str(out), "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout == f"Gradebook: {out / 'gradebook.csv'}\n"
    with open(out / "gradebook.csv") as file:
        rows = list(csv.reader(file))
    from keras_vae.graded.rubric import rubric

    assert rows[0] == ["name", "score", "maximum"] + [item.id for item in rubric()]
    scores = {row[0]: (int(row[1]), int(row[2])) for row in rows[1:]}
    assert set(scores) == {"alice", "bob", "carol", "erin", "mallory"}
    assert scores["alice"] == (max_score(), max_score())
    assert scores["bob"][0] == scores["carol"][0] == scores["mallory"][0] == 0
    assert 0 < scores["erin"][0] < max_score()
    for name in scores:
        results = json.loads((out / name / "results.json").read_text())
        assert sum(t["max_score"] for t in results["tests"]) == max_score(), name
    carol = json.loads((out / "carol" / "results.json").read_text())
    assert "received vae.py" in carol["tests"][0]["output"]
