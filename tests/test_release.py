"""The student bundle and the Gradescope autograder zip."""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import jsonschema
import pytest

from keras_vae import release
from tests.grading import max_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALTERNATIVE = os.path.join(ROOT, "tests", "solutions", "alternative.py")


def run_in(folder, *command, **env):
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    student, zip_path = release.release(str(out))
    return out, student, zip_path


def test_bundle_holds_no_solution_and_no_answers(bundle):
    """The student bundle has the stubs and the tools but no reference solution or answers."""
    _, student, zip_path = bundle
    files = {os.path.relpath(os.path.join(folder, name), student)
             for folder, _, names in os.walk(student) for name in names}
    assert {"assignments/__init__.py", "assignments/README.md", "keras_vae/train.py",
            "keras_vae/graded/test_rubric.py", "keras_vae/data/mnist_sample.npz",
            "conftest.py", "requirements.txt"} <= files
    for forbidden in ("keras_vae/layers.py", "keras_vae/losses.py", "keras_vae/models.py",
                      "keras_vae/release.py"):
        assert forbidden not in files
    assert not any("instructor" in name for name in files)
    for name in files:
        if name.endswith(".py") and not name.startswith("assignments"):
            text = open(os.path.join(student, name)).read()
            assert "exp(0.5 * z_log_var) * epsilon\n" not in text.replace("return ", ""), name
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {"setup.sh", "run_autograder", "keras_vae/grade.py",
            "keras_vae/graded/grading_seed"} <= names
    assert "keras_vae/graded/grading_seed" not in files
    assert "keras_vae/models.py" not in names and "assignments/__init__.py" not in names


def test_release_refuses_to_overwrite(bundle):
    """Releasing into a folder that already has a bundle is a ValueError naming `out`."""
    out, _, _ = bundle
    with pytest.raises(ValueError, match="Invalid value for `out`"):
        release.release(str(out))


@pytest.mark.slow
def test_in_the_bundle_stubs_score_zero_and_a_solution_full_marks(bundle, tmp_path):
    """In a copy of the bundle the stubs score 0; a completed solution scores full marks with the
    grader and with plain pytest, and trains."""
    _, student, _ = bundle
    copy = tmp_path / "student"
    shutil.copytree(student, copy)
    result = run_in(copy, sys.executable, "-m", "keras_vae.grade")
    assert f"Score: 0/{max_score()}" in result.stdout, result.stdout + result.stderr
    shutil.copy(ALTERNATIVE, copy / "assignments" / "__init__.py")
    result = run_in(copy, sys.executable, "-m", "keras_vae.grade")
    assert f"Score: {max_score()}/{max_score()}" in result.stdout, result.stdout + result.stderr
    result = run_in(copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert f"Score: {max_score()}/{max_score()}" in result.stdout, result.stdout[-3000:]
    result = run_in(copy, sys.executable, "-m", "keras_vae.train", "--dataset", "sample",
                    "--epochs", "1", "--iw-samples", "2", "--out", "runs/mine")
    assert result.returncode == 0, result.stderr
    assert (copy / "runs" / "mine" / "prior_samples.png").exists()


@pytest.mark.slow
def test_autograder_zip_grades_a_submission(bundle, tmp_path):
    """run_autograder grades a submitted assignments/__init__.py into a valid results.json."""
    _, _, zip_path = bundle
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    _with_this_python(root)
    (root / "submission").mkdir()
    shutil.copy(ALTERNATIVE, root / "submission" / "__init__.py")
    result = run_in(root / "source", "bash", str(root / "source" / "run_autograder"),
                    AUTOGRADER_ROOT=str(root),
                    PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == max_score(), result.stdout + result.stderr
    assert results["extra_data"]["seed"] == "secret"


def _with_this_python(root):
    """Stands in for setup.sh: `root/venv/bin/python` is the Python running the tests."""
    (root / "venv" / "bin").mkdir(parents=True)
    python = root / "venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)


def _autograde(zip_path, root, submission_text):
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    _with_this_python(root)
    (root / "submission").mkdir()
    (root / "submission" / "__init__.py").write_text(submission_text)
    result = run_in(root / "source", "bash", str(root / "source" / "run_autograder"),
                    AUTOGRADER_ROOT=str(root),
                    PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    results = json.loads((root / "results" / "results.json").read_text())
    with open(os.path.join(ROOT, "tests", "gradescope_results.schema.json")) as file:
        jsonschema.validate(results, json.load(file))
    assert sum(t["max_score"] for t in results["tests"]) == max_score(), result.stderr
    return results


@pytest.mark.slow
@pytest.mark.parametrize("adversary", ["forge_results_files", "patch_pytest_and_judges",
                                       "detaches_a_writer"])
def test_autograder_zip_gives_adversaries_nothing(bundle, tmp_path, adversary):
    """Through run_autograder, stubs with an adversary's code appended score 0, validly."""
    _, _, zip_path = bundle
    stubs = open(os.path.join(ROOT, "assignments", "__init__.py")).read()
    attack = open(os.path.join(ROOT, "tests", "adversarial", f"{adversary}.py")).read()
    attack = attack.replace("from assignments import *  # noqa: F401,F403\n", "")
    results = _autograde(zip_path, tmp_path / "autograder", stubs + "\n" + attack)
    assert results["score"] == 0
    assert results["extra_data"]["flags"]


@pytest.mark.slow
def test_autograder_zip_takes_points_for_a_mistake(bundle, tmp_path):
    """Through run_autograder, a solution with a flipped KL sign loses exactly the KL items."""
    _, _, zip_path = bundle
    text = open(ALTERNATIVE).read()
    assert "return tf.reduce_sum(tfd.kl_divergence(" in text
    text = text.replace("return tf.reduce_sum(tfd.kl_divergence(",
                        "return -tf.reduce_sum(tfd.kl_divergence(")
    results = _autograde(zip_path, tmp_path / "autograder", text)
    failed = {t["number"] for t in results["tests"] if t["status"] == "failed"}
    assert {"kl.closed_form", "kl.non_negative", "kl.tfp"} <= failed
    assert "reparameterize.formula" not in failed and results["score"] < max_score()


PYENV = os.path.expanduser("~/.pyenv/versions")


def _pyenv_python(version):
    matches = sorted(glob.glob(os.path.join(PYENV, f"{version}.*", "bin", f"python{version}")))
    return matches[-1] if matches else None


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_setup_sh_and_run_autograder_as_gradescope_runs_them(bundle, tmp_path, version):
    """On Python 3.10 (Ubuntu 22.04) and 3.12 (24.04): setup.sh builds a virtual environment
    from the registries, and run_autograder gives a correct upload, one folder too deep, full
    marks in results/results.json."""
    python = _pyenv_python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    _, _, zip_path = bundle
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    env = {"AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python}
    setup = run_in(root / "source", "bash", str(root / "source" / "setup.sh"), **env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
    version_line = subprocess.run([str(root / "venv" / "bin" / "python"), "--version"],
                                  capture_output=True, text=True).stdout
    assert version_line.startswith(f"Python {version}.")
    (root / "submission" / "my-upload" / "assignments").mkdir(parents=True)
    shutil.copy(ALTERNATIVE, root / "submission" / "my-upload" / "assignments" / "__init__.py")
    result = run_in(root / "source", "bash", str(root / "source" / "run_autograder"), **env)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == max_score(), result.stdout[-2000:] + result.stderr[-2000:]


def test_release_writes_the_classroom_template_and_the_instructors_page(bundle):
    """The release holds GitHub Classroom's template (student files and workflow, no solution)
    and the Gradescope page."""
    out, _, _ = bundle
    classroom = os.path.join(out, "classroom")
    workflow = open(os.path.join(classroom, ".github", "workflows", "classroom.yml")).read()
    assert "name: Autograding Tests" in workflow and "run-autograding-tests:" in workflow
    assert os.path.exists(os.path.join(classroom, "assignments", "__init__.py"))
    assert not os.path.exists(os.path.join(classroom, "keras_vae", "models.py"))
    assert "Ubuntu 22.04" in open(os.path.join(out, "GRADESCOPE.md")).read()


def test_visibility_is_checked_and_carried_into_the_zip(tmp_path):
    """--visibility takes known ids and Gradescope's four values, and the zip carries them."""
    assert release.parse_visibility(["vae.beta=hidden"]) == {"vae.beta": "hidden"}
    for bad in (["vae.beta=secret"], ["no.such=hidden"], ["vae.beta"]):
        with pytest.raises(ValueError, match="Invalid value for `--visibility`"):
            release.parse_visibility(bad)
    _, zip_path = release.release(str(tmp_path), {"vae.beta": "after_due_date"})
    with zipfile.ZipFile(zip_path) as archive:
        chosen = json.loads(archive.read("keras_vae/graded/visibility.json"))
    assert chosen == {"vae.beta": "after_due_date"}


def test_bundle_code_imports_no_module_the_bundle_leaves_out(bundle):
    """No module in the bundle imports the reference's layers, losses or models."""
    import ast

    _, student, _ = bundle
    left_out = {f"keras_vae.{name[:-3]}" for name in release.SOLUTION_FILES if name != "__init__.py"}
    for folder, _, names in os.walk(os.path.join(student, "keras_vae")):
        for name in names:
            if not name.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(folder, name)).read())
            for node in ast.walk(tree):
                imported = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                            else [node.module] if isinstance(node, ast.ImportFrom) else [])
                assert not set(imported) & left_out, f"{name} imports {imported}"
