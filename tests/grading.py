"""Runs the grader as a terminal does, in a subprocess, and reads its results.json."""

import json
import os
import subprocess
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(os.path.dirname(__file__), "gradescope_results.schema.json")


def max_score():
    from keras_vae.graded.rubric import max_score

    return max_score()


def run_grader(impl, tmp_path, *arguments, cwd=ROOT, env=None, timeout=600):
    """Grades `impl`; returns `(completed process, results)` after validating results.json."""
    path = tmp_path / f"{impl.rsplit('.', 1)[-1]}-results.json"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "keras_vae.grade", "--impl", impl, "--json", str(path), *arguments],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    results = json.loads(path.read_text())
    with open(SCHEMA) as file:
        jsonschema.validate(results, json.load(file))
    assert sum(test["max_score"] for test in results["tests"]) == max_score()
    return completed, results


def scored(results):
    return {test["number"]: test for test in results["tests"] if test["number"] != "instructor.review"}


def assert_told_once(results, *phrases):
    """The first item carries the import failure with every phrase; the others point at it."""
    tests = list(scored(results).values())
    first = tests[0]
    assert all(phrase in first["output"] for phrase in phrases), (phrases, first["output"])
    pointer = f"not graded: the submission failed to import, see {first['number']}."
    others = {test["output"] for test in tests[1:]}
    assert others == {pointer}, f"expected every other item to say {pointer!r}, received {others}"


def venv_other_users_can_run(folder):
    """A venv of the system Python that reads this venv's packages (same Python version), in a
    folder every user can read; None where there is no such Python or the grader is not root."""
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.path.exists(python):
        return None
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(sys.version_info[:2]):
        return None
    subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next(folder.glob("lib/python3*/site-packages"))
    packages = [path for path in sys.path if path.endswith("site-packages")]
    (site / "keras_vae_dependencies.pth").write_text("\n".join(packages) + "\n")
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644 if not os.access(path, os.X_OK)
                       else 0o755)
    return str(folder / "bin" / "python")
