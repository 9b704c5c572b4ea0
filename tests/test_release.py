"""The student bundle and the Gradescope autograder zip."""

import glob
import hashlib
import json
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import jsonschema
import pytest

from keras_vae import release
from tests.grading import SCHEMA, max_score

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
    for forbidden in ("keras_vae/reference/layers.py", "keras_vae/reference/losses.py",
                      "keras_vae/reference/models.py", "keras_vae/release.py"):
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
    assert "keras_vae/reference/models.py" not in names and "assignments/__init__.py" not in names


def test_release_refuses_to_overwrite(bundle):
    """Releasing into a folder that already has a bundle is a ValueError naming `out`."""
    out, _, _ = bundle
    with pytest.raises(ValueError, match="Invalid value for `out`"):
        release.release(str(out))
    # Only what the release promises is there: the autograder's staging copy, which holds the
    # secret seed, is not left beside the zip.
    assert sorted(os.listdir(out)) == ["GRADESCOPE.md", "autograder.zip", "classroom",
                                       "grading_seed", "student"]


def test_the_instructors_seed_is_the_zips_and_readable_by_its_owner_alone(bundle):
    """`DIR/grading_seed` holds the zip's secret seed, with mode 0600."""
    out, _, zip_path = bundle
    path = os.path.join(out, "grading_seed")
    with zipfile.ZipFile(zip_path) as archive:
        zipped = archive.read("keras_vae/graded/grading_seed").decode()
    assert open(path).read() == zipped and int(zipped) > 0
    mode = os.stat(path).st_mode & 0o777
    assert mode == 0o600, f"expected {path} at mode 0o600, received {oct(mode)}"


RELEASED = ("keras_vae", "assignments", "docs", "conftest.py", "requirements.txt",
            "pyproject.toml", "README.md")


def _checkout_copy(folder, stubs_text):
    """A copy of the files a release reads, with `assignments/__init__.py` replaced."""
    for name in RELEASED:
        source = os.path.join(ROOT, name)
        if os.path.isdir(source):
            shutil.copytree(source, folder / name,
                            ignore=shutil.ignore_patterns("__pycache__", "grading_seed"))
        else:
            shutil.copy(source, folder / name)
    (folder / "assignments" / "__init__.py").write_text(stubs_text)
    return folder


def test_a_solved_checkout_is_not_released(tmp_path):
    """An instructor who solved the assignment in the checkout gets one line naming what is
    implemented, exit status 2, and no release."""
    checkout = _checkout_copy(tmp_path / "checkout", open(ALTERNATIVE).read())
    out = tmp_path / "release"
    result = subprocess.run([sys.executable, "-m", "keras_vae.release", "--out", str(out)],
                            cwd=checkout, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        "error: assignments/__init__.py implements reparameterize, Sampling, kl_divergence, "
        "bernoulli_nll, gaussian_nll, KLDivergenceLayer, build_encoder, build_decoder, "
        "build_vae: a release would ship that solution to students. Put the stubs back (`git "
        "restore assignments/__init__.py` where the stubs are committed) and release again.\n"))
    assert not out.exists()


def test_one_solved_function_is_named_and_the_stubs_are_not(tmp_path):
    """Only the contract names whose bodies are more than `raise NotImplementedError` count,
    a layer by its `call`; a star import counts as every name."""
    stubs = open(release.STUBS).read()
    assert release.implemented() == [], "expected the checkout's stubs to implement nothing"
    solved = stubs.replace('    raise NotImplementedError("kl_divergence")',
                           "    return 0.5 * ops.sum(z_mean**2 + ops.exp(z_log_var) - z_log_var"
                           " - 1, axis=-1)")
    solved = solved.replace('        raise NotImplementedError("KLDivergenceLayer.call")',
                            "        return inputs")
    (tmp_path / "partly.py").write_text(solved)
    assert release.implemented(str(tmp_path / "partly.py")) == ["kl_divergence",
                                                                "KLDivergenceLayer"]
    (tmp_path / "star.py").write_text("from tests.solutions.alternative import *\n")
    assert release.implemented(str(tmp_path / "star.py")) == list(release.CONTRACT)


def test_a_release_folder_missing_one_part_is_refused_in_one_line(tmp_path):
    (tmp_path / "autograder.zip").write_text("an earlier release")
    result = subprocess.run([sys.executable, "-m", "keras_vae.release", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        f"error: Invalid value for `--out`: expected a folder without a release in it, received "
        f"'{tmp_path}', which has autograder.zip.\n"))
    assert os.listdir(tmp_path) == ["autograder.zip"]


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


DEBIAN_PYTHON = "/usr/bin/python3"
FRESH_CONTAINMENT = ("the submission ran as fresh user ids, one for each stage and none shared "
                     "with any other process")
PLANTS = sorted(os.path.basename(path)[:-3] for path in glob.glob(
    os.path.join(ROOT, "tests", "adversarial", "plants_*.py")))
STDLIB_NAMES = ("json", "tempfile", "csv", "socket")  # what plants_stdlib_modules drops


def _can_switch_users():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


needs_root = pytest.mark.skipif(not _can_switch_users(),
                                reason="needs root, the user nobody and setpriv")


def test_setup_sh_checks_the_sandbox_user_and_run_autograder_isolates_the_grader():
    """setup.sh installs keras_vae into the venv and ends with the sandbox user's check;
    run_autograder starts the grader in / in isolated mode, writing no bytecode."""
    assert release.SETUP_SH.endswith(release.SANDBOX_CHECK)
    assert 'pip install --quiet --no-deps "$root/source"' in release.SETUP_SH
    assert "import tensorflow, keras, numpy, keras_vae.graded.channel" in release.SANDBOX_CHECK
    assert "setpriv --reuid=" in release.SANDBOX_CHECK and "test -r" in release.SANDBOX_CHECK
    command = release.RUN_AUTOGRADER.strip().splitlines()[-1]
    assert command == 'cd / && exec "$root/venv/bin/python" -I -B -m keras_vae.autograder', (
        f"expected run_autograder to end with the isolated grader in /, received {command!r}")


def test_the_zip_builds_keras_vae_with_its_seed_and_visibility(bundle):
    """The zip carries pyproject.toml, whose package data holds the data, seed and visibility."""
    tomllib = pytest.importorskip("tomllib")
    _, _, zip_path = bundle
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        project = tomllib.loads(archive.read("pyproject.toml").decode())
    assert {"pyproject.toml", "README.md", "keras_vae/graded/visibility.json"} <= names
    data = project["tool"]["setuptools"]["package-data"]
    assert "data/*.npz" in data["keras_vae"]
    assert {"grading_seed", "visibility.json"} <= set(data["keras_vae.graded"])


def test_the_autograder_writes_every_item_at_zero_when_grading_fails(tmp_path, monkeypatch):
    """When the grader raises, keras_vae.autograder still writes a valid results.json with the
    full maximum, every item at 0 and the reason."""
    from keras_vae import autograder

    def fail(*args, **kwargs):
        raise RuntimeError("the grader broke")

    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    monkeypatch.setattr(autograder.grading, "grade", fail)
    monkeypatch.setattr(autograder.sandbox, "become_subreaper", lambda: True)
    (tmp_path / "submission").mkdir()
    shutil.copy(ALTERNATIVE, tmp_path / "submission" / "__init__.py")
    assert autograder.main() == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    with open(SCHEMA) as file:
        jsonschema.validate(results, json.load(file))
    assert results["score"] == 0 and sum(t["max_score"] for t in results["tests"]) == max_score()
    assert all("the autograder failed (RuntimeError: the grader broke)" in t["output"]
               for t in results["tests"] if t["number"] != "instructor.review")


def _fake_install(seed_mode):
    """An /autograder-shaped folder that every user can traverse, whose venv's Python stands in
    for one that imports everything, with the installed seed at `seed_mode`."""
    root = tempfile.mkdtemp(prefix="keras-vae-setup-", dir="/tmp")
    os.chmod(root, 0o755)
    seeds = [os.path.join(root, "source", "keras_vae", "graded"),
             os.path.join(root, "venv", "lib", "python3", "site-packages", "keras_vae", "graded")]
    for folder in seeds:
        os.makedirs(folder)
        with open(os.path.join(folder, "grading_seed"), "w") as file:
            file.write("1234\n")
    os.chmod(os.path.join(seeds[0], "grading_seed"), 0o600)
    os.chmod(os.path.join(seeds[1], "grading_seed"), seed_mode)
    python = os.path.join(root, "venv", "bin", "python")
    os.makedirs(os.path.dirname(python))
    with open(python, "w") as file:
        file.write("#!/bin/sh\nexit 0\n")
    os.chmod(python, 0o755)
    return root


def _sandbox_check(root):
    script = "set -euo pipefail\nroot=$AUTOGRADER_ROOT\n" + release.SANDBOX_CHECK
    return subprocess.run(["bash", "-c", script], env=dict(os.environ, AUTOGRADER_ROOT=root),
                          capture_output=True, text=True, timeout=300)


def _one_line(completed):
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode != 0 and len(lines) == 1, (
        f"expected setup.sh to fail with one line on stderr, received status "
        f"{completed.returncode} and {completed.stderr!r}")
    assert lines[0].startswith("setup.sh: ") and lines[0].endswith(", so the build fails."), lines
    return lines[0]


@needs_root
def test_the_sandbox_check_passes_a_venv_nobody_can_run_and_a_seed_only_root_reads():
    """The check of setup.sh passes when nobody can run the venv's Python and read no seed."""
    root = _fake_install(0o600)
    try:
        completed = _sandbox_check(root)
        assert completed.returncode == 0, completed.stderr
    finally:
        shutil.rmtree(root)


@needs_root
def test_the_sandbox_check_fails_the_build_for_a_venv_nobody_cannot_run():
    """setup.sh fails, in one line, when nobody cannot run the venv's Python."""
    root = _fake_install(0o600)
    try:
        os.chmod(os.path.join(root, "venv"), 0o700)
        line = _one_line(_sandbox_check(root))
        assert "user nobody cannot import tensorflow" in line and "Permission denied" in line
        assert "it would grade submissions as root" in line, line
    finally:
        shutil.rmtree(root)


@needs_root
@pytest.mark.parametrize("seed_mode", [0o644, None])
def test_the_sandbox_check_fails_the_build_for_a_seed_nobody_could_read(seed_mode):
    """setup.sh fails, in one line, when nobody can read the installed seed or there is none
    (the grader would quietly use the public seed)."""
    root = _fake_install(seed_mode or 0o600)
    try:
        installed = glob.glob(os.path.join(root, "venv", "lib", "*", "site-packages",
                                           "keras_vae", "graded", "grading_seed"))[0]
        if seed_mode is None:
            os.remove(installed)
        line = _one_line(_sandbox_check(root))
        assert (f"can read the secret seed {installed}" in line if seed_mode else
                "has no graded/grading_seed" in line), line
    finally:
        shutil.rmtree(root)


@needs_root
def test_the_sandbox_check_fails_the_build_for_grader_files_nobody_could_change():
    """setup.sh fails, in one line, when nobody could change a file of the installed grader."""
    root = _fake_install(0o600)
    try:
        package = glob.glob(os.path.join(root, "venv", "lib", "*", "site-packages", "keras_vae"))[0]
        os.chmod(package, 0o777)
        line = _one_line(_sandbox_check(root))
        assert f"user nobody can change the grader's files ({package})" in line, line
    finally:
        shutil.rmtree(root)


@pytest.fixture(scope="module")
def gradescope(bundle):
    """/autograder as Gradescope lays it out, after setup.sh on Debian's Python, as root: in a
    folder every user can traverse (pytest's tmp_path is under a 0700 folder), removed after."""
    if not _can_switch_users() or not os.path.exists(DEBIAN_PYTHON):
        pytest.skip(f"needs root, the user nobody, setpriv and {DEBIAN_PYTHON}")
    _, _, zip_path = bundle
    root = tempfile.mkdtemp(prefix="keras-vae-autograder-", dir="/tmp")
    try:
        os.chmod(root, 0o755)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(os.path.join(root, "source"))
        setup = run_in(os.path.join(root, "source"), "bash",
                       os.path.join(root, "source", "setup.sh"), AUTOGRADER_ROOT=root,
                       AUTOGRADER_PYTHON=DEBIAN_PYTHON)
        assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
        yield pathlib.Path(root)
    finally:
        shutil.rmtree(root)


def _run_autograder(root, upload):
    """Grades `upload` (relative path -> text) as Gradescope does; returns the completed
    process and results.json, validated, with the full maximum."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for name, text in upload.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    completed = run_in(root / "source", "bash", str(root / "source" / "run_autograder"),
                       AUTOGRADER_ROOT=str(root))
    results = json.loads((root / "results" / "results.json").read_text())
    with open(SCHEMA) as file:
        jsonschema.validate(results, json.load(file))
    assert sum(t["max_score"] for t in results["tests"]) == max_score(), completed.stderr[-2000:]
    return completed, results


def _review(results):
    return next(t for t in results["tests"] if t["number"] == "instructor.review")["output"]


def _installed(root):
    return pathlib.Path(glob.glob(str(root / "venv" / "lib" / "*" / "site-packages"))[0])


@pytest.mark.slow
def test_setup_sh_installs_keras_vae_for_nobody_to_read_and_only_root_to_change(gradescope):
    """After setup.sh, keras_vae is installed in the venv (not found in the source folder),
    nothing of the grader is writable by others, every seed is root's alone, and no build is
    left behind."""
    root = gradescope
    found = subprocess.run([str(root / "venv" / "bin" / "python"), "-I", "-c",
                            "import keras_vae; print(keras_vae.__file__)"], cwd="/",
                           capture_output=True, text=True)
    assert found.stdout.strip() == str(_installed(root) / "keras_vae" / "__init__.py"), found
    seeds = [*(root / "source").rglob("grading_seed"), *(root / "venv").rglob("grading_seed")]
    assert len(seeds) == 2 and all(seed.stat().st_mode & 0o777 == 0o600 for seed in seeds), seeds
    for path in (root, *(root / "source").rglob("*"), *(root / "venv").rglob("*")):
        if not path.is_symlink():
            info = path.stat()
            assert info.st_uid == 0 and not info.st_mode & 0o022, (
                f"expected {path} to be root's and not writable by others, received uid "
                f"{info.st_uid} and mode {oct(info.st_mode)}")
    assert not (root / "source" / "build").exists()
    assert not list((root / "source").glob("*.egg-info"))


def _fresh_uids(review):
    """The user ids the submission's code printed, checked to be fresh ones (no account's)."""
    uids = {int(uid) for uid in re.findall(r"submission uid (\d+)", review)}
    assert uids and all(uid >= 2**30 for uid in uids), (
        f"expected the submission to run as fresh user ids, received {uids} in {review!r}")
    assert not uids & {entry.pw_uid for entry in pwd.getpwall()}
    return uids


@pytest.mark.slow
def test_run_autograder_grades_as_a_fresh_user_id(gradescope):
    """run_autograder gives a correct upload, one folder too deep, full marks with the secret
    seed, and the submission's own code reports a fresh user id, never root's nor an account's."""
    solution = open(ALTERNATIVE).read() + (  # quiet, so the uid stays in the output's tail
        '\ntf.get_logger().setLevel("ERROR")\nimport os\nprint("submission uid", os.geteuid())\n')
    _, results = _run_autograder(gradescope, {"my-upload/assignments/__init__.py": solution})
    assert results["score"] == max_score(), [t["number"] for t in results["tests"]
                                             if t["status"] != "passed"]
    assert results["extra_data"]["seed"] == "secret"
    assert results["extra_data"]["containment"].startswith(FRESH_CONTAINMENT)
    _fresh_uids(_review(results))


def _fingerprint(root):
    """Every file of the grader and of /autograder's top level, with its content's hash (for
    keras_vae's files) or its size, time and mode (for the rest of the venv)."""
    found = {}
    for path in (*root.iterdir(), *(root / "source").rglob("*"), *(root / "venv").rglob("*")):
        if path.is_relative_to(root / "submission") or path.is_relative_to(root / "results"):
            continue
        info = path.lstat()
        if path.is_file() and not path.is_symlink() and "keras_vae" in path.parts:
            found[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mode)
        else:
            found[str(path)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("adversary", PLANTS)
def test_planted_code_never_runs_and_the_grader_files_stay_unchanged(gradescope, adversary):
    """Through run_autograder, stubs with code that plants modules, bytecode or startup files for
    the grader score 0 with a valid results.json, and nothing was planted or changed."""
    root = gradescope
    before = _fingerprint(root)
    planted = [pathlib.Path("/", f"{name}.py") for name in STDLIB_NAMES]
    assert not any(path.exists() for path in planted), "a module is already planted in /"
    try:
        _, results = _run_autograder(root, {"assignments/__init__.py": _attack(adversary)})
        assert results["score"] == 0, [t["number"] for t in results["tests"] if t["score"]]
        assert results["extra_data"]["flags"], "expected the instructor review to list the code"
        assert not (root / "planted-code-ran").exists(), (root / "planted-code-ran").read_text()
        assert "could not" in _review(results) and " as uid 0" not in _review(results), (
            f"expected every plant to fail as nobody, received {_review(results)!r}")
        assert [path for path in planted if path.exists()] == []
        after = _fingerprint(root)
        changed = sorted(set(before.items()) ^ set(after.items()))
        assert changed == [], f"expected the grader's files unchanged, received {changed[:5]}"
    finally:
        for path in planted:
            path.unlink(missing_ok=True)


@pytest.mark.slow
def test_run_autograder_takes_points_for_a_mistake(gradescope):
    """Through run_autograder, a solution with a flipped KL sign loses exactly the KL items."""
    text = open(ALTERNATIVE).read()
    assert "return tf.reduce_sum(tfd.kl_divergence(" in text
    text = text.replace("return tf.reduce_sum(tfd.kl_divergence(",
                        "return -tf.reduce_sum(tfd.kl_divergence(")
    _, results = _run_autograder(gradescope, {"__init__.py": text})
    failed = {t["number"] for t in results["tests"] if t["status"] == "failed"}
    assert {"kl.closed_form", "kl.non_negative", "kl.tfp"} <= failed
    assert "reparameterize.formula" not in failed and results["score"] < max_score()


def _attack(adversary):
    """The stubs with an adversary's code appended, as one uploaded file."""
    stubs = open(os.path.join(ROOT, "assignments", "__init__.py")).read()
    attack = open(os.path.join(ROOT, "tests", "adversarial", f"{adversary}.py")).read()
    return stubs + "\n" + attack.replace("from assignments import *  # noqa: F401,F403\n", "")


@pytest.mark.slow
@pytest.mark.parametrize("adversary", ["forge_results_files", "patch_pytest_and_judges",
                                       "detaches_a_writer", "forge_channel",
                                       "recovers_secret_seed", "graph_escapes"])
def test_run_autograder_gives_adversaries_nothing(gradescope, adversary):
    """Through run_autograder, stubs with an adversary's code appended score 0, validly, and a
    process the submission detached is ended with the grading."""
    marks = tempfile.mkdtemp(prefix="keras-vae-marks-", dir="/tmp")
    try:
        os.chmod(marks, 0o777)  # writable by nobody, so a writer that survived would leave a mark
        mark = os.path.join(marks, "mark")
        attack = _attack(adversary).replace('"/tmp/keras-vae-adversary-mark"', repr(mark))
        _, results = _run_autograder(gradescope, {"assignments/__init__.py": attack})
        assert results["score"] == 0
        assert results["extra_data"]["flags"]
        time.sleep(6 if adversary == "detaches_a_writer" else 0)
        assert not os.path.exists(mark), "a process the submission detached outlived the grading"
    finally:
        shutil.rmtree(marks)


@pytest.mark.slow
def test_two_gradings_at_once_a_hidden_process_reaches_neither(gradescope, bundle):
    """Two gradings at once, as root from the bundle: an adversary that leaves a hidden process
    (a name that is not UTF-8, detached) stopping every process it may signal and copying every
    grading's exports it can reach scores 0; the correct submission graded beside it scores full
    marks; the hidden process dies with its grading and copied nothing of the other's."""
    python = str(gradescope / "venv" / "bin" / "python")
    marks = tempfile.mkdtemp(prefix="keras-vae-marks-", dir="/tmp")
    os.chmod(marks, 0o777)
    mark = os.path.join(marks, "mark")
    attack = _attack("hides_and_takes_the_runner").replace('"/tmp/keras-vae-adversary-mark"',
                                                           repr(mark))
    folder, copy = _bundle_copy(bundle, {"correct": open(ALTERNATIVE).read(), "hider": attack})
    arguments = {"correct": [], "hider": ["--timeout", "5", "--deadline", "90"]}
    try:
        processes = {module: subprocess.Popen(
            [python, "-m", "keras_vae.grade", "--impl", module, "--json",
             os.path.join(folder, f"{module}.json"), *arguments[module]], cwd=copy,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"})
            for module in ("hider", "correct")}
        for module, process in processes.items():
            _, stderr = process.communicate(timeout=900)
            assert process.returncode == 0, (module, stderr[-2000:])
        scores = {module: json.loads(open(os.path.join(folder, f"{module}.json")).read())["score"]
                  for module in processes}
        assert scores == {"correct": max_score(), "hider": 0}, scores
        assert os.path.exists(mark), "expected the hidden process to have run during its grading"
        size = os.path.getsize(mark)
        time.sleep(2)
        assert os.path.getsize(mark) == size, "the hidden process outlived its grading"
        gradings = {name.split("__")[1] for name in os.listdir(marks)
                    if name.startswith("stolen__")}
        assert len(gradings) <= 1, f"expected no other grading's exports copied, got {gradings}"
    finally:
        shutil.rmtree(folder)
        shutil.rmtree(marks)


def _bundle_copy(bundle, modules):
    """A root-owned copy of the student bundle that every user can read and only root can
    change, with `modules` (name -> source) added at its top."""
    _, student, _ = bundle
    folder = tempfile.mkdtemp(prefix="keras-vae-class-", dir="/tmp")
    os.chmod(folder, 0o755)
    copy = os.path.join(folder, "student")
    shutil.copytree(student, copy)
    for name, text in modules.items():
        with open(os.path.join(copy, f"{name}.py"), "w") as file:
            file.write(text)
    for path in [copy, *glob.glob(os.path.join(copy, "**"), recursive=True)]:
        os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
    return folder, copy


@pytest.mark.slow
def test_a_class_graded_as_root_from_the_bundle_runs_submissions_as_fresh_users(gradescope,
                                                                               bundle):
    """An instructor grading as root from the student bundle with a system Python's venv:
    a correct submission scores full marks and its code runs as a fresh user id; adversaries
    get 0."""
    python = str(gradescope / "venv" / "bin" / "python")
    solution = open(ALTERNATIVE).read() + (
        '\ntf.get_logger().setLevel("ERROR")\nimport os\nprint("submission uid", os.geteuid())\n')
    folder, copy = _bundle_copy(bundle, {"correct": solution,
                                         "seed_thief": _attack("recovers_secret_seed"),
                                         "channel_flood": _attack(
                                             "floods_and_forges_exporter_channel")})
    try:
        for module, expected in (("correct", max_score()), ("seed_thief", 0),
                                 ("channel_flood", 0)):
            path = os.path.join(folder, f"{module}.json")
            completed = run_in(copy, python, "-m", "keras_vae.grade", "--impl", module,
                               "--json", path)
            assert completed.returncode == 0, completed.stderr[-2000:]
            results = json.loads(open(path).read())
            with open(SCHEMA) as file:
                jsonschema.validate(results, json.load(file))
            assert results["score"] == expected, (module, [
                t["number"] for t in results["tests"] if t["score"]])
            assert results["extra_data"]["containment"].startswith(FRESH_CONTAINMENT)
            if module == "correct":
                _fresh_uids(_review(results))
    finally:
        shutil.rmtree(folder)


AUDITED_GRADER = """
import sys

started, late = [], []


def audit(event, args):
    if event == "subprocess.Popen" and "-c" not in list(args[1]):  # not the sandbox's probe
        started.append(args[1])
    elif event == "import" and started and args[0] not in sys.modules:
        late.append(args[0])


sys.addaudithook(audit)
from keras_vae import autograder

autograder.main()
print("submission processes:", len(started), "modules imported after the first:", late)
"""


@pytest.mark.slow
def test_the_grader_imports_nothing_once_the_submission_runs(gradescope):
    """Grading a correct upload, the grading process imports every module before the first
    submission process starts, so root imports nothing a submission could have planted."""
    root = gradescope
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    shutil.copy(ALTERNATIVE, root / "submission" / "__init__.py")
    completed = run_in("/", str(root / "venv" / "bin" / "python"), "-I", "-B", "-c",
                       AUDITED_GRADER, AUTOGRADER_ROOT=str(root))
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("submission processes: ") and last.endswith(
        "modules imported after the first: []"), completed.stdout[-2000:] + completed.stderr[-2000:]
    assert not last.startswith("submission processes: 0 "), last


@pytest.mark.slow
def test_setup_sh_fails_the_build_when_nobody_cannot_run_the_installed_venv(gradescope):
    """On the real install, setup.sh's check fails in one line once nobody cannot read the venv
    (as with a Python under /root), and passes again when it can."""
    venv = gradescope / "venv"
    try:
        venv.chmod(0o700)
        line = _one_line(_sandbox_check(str(gradescope)))
        assert "user nobody cannot import tensorflow" in line, line
    finally:
        venv.chmod(0o755)
    completed = _sandbox_check(str(gradescope))
    assert completed.returncode == 0, completed.stderr


PYENV = os.path.expanduser("~/.pyenv/versions")


def _pyenv_python(version):
    matches = sorted(glob.glob(os.path.join(PYENV, f"{version}.*", "bin", f"python{version}")))
    return matches[-1] if matches else None


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_the_grading_requirements_resolve_on_python_3_10_and_3_12(bundle, tmp_path, version):
    """The zip's requirements resolve on Python 3.10 (Ubuntu 22.04) and 3.12 (24.04); only
    resolved (pip --dry-run), since a Python under /root cannot pass setup.sh's check."""
    python = _pyenv_python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    _, _, zip_path = bundle
    with zipfile.ZipFile(zip_path) as archive:
        (tmp_path / "requirements.txt").write_bytes(archive.read("requirements.txt"))
    resolved = run_in(tmp_path, python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                      "--quiet", "-r", "requirements.txt")
    assert resolved.returncode == 0, resolved.stderr[-3000:]


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
    left_out |= {f"keras_vae.{folder}" for folder in release.SOLUTION_FOLDERS}
    for folder, _, names in os.walk(os.path.join(student, "keras_vae")):
        for name in names:
            if not name.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(folder, name)).read())
            for node in ast.walk(tree):
                imported = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                            else [node.module] if isinstance(node, ast.ImportFrom) else [])
                assert not {i for i in imported if i and any(
                    i == out or i.startswith(out + ".") for out in left_out)}, (
                    f"{name} imports {imported}")
