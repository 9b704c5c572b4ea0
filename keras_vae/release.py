"""Writes the student bundle and the Gradescope autograder zip.

Usage: `python -m keras_vae.release --out DIR`

`DIR/student/` holds the stubs, the assignment README, the graded tests and the data, training,
evaluation and plotting code, without the reference solution or the instructor's answers.
`DIR/autograder.zip` holds `setup.sh`, `run_autograder`, the same code and tests with the
project's `pyproject.toml` (setup.sh installs keras_vae from it), and a secret grading seed
(`keras_vae/graded/grading_seed`, drawn at release): the autograder's inputs differ from the
public ones students grade themselves on. It grades a submitted `assignments/__init__.py` and
writes `/autograder/results/results.json`; docs/gradescope.md says what setup.sh checks.
`DIR/grading_seed`, readable by its owner alone, holds the same seed for the instructor's class
gradings (`python -m keras_vae.grade --submissions ... --seed-file DIR/grading_seed`).

The stubs shipped are `assignments/__init__.py` as it stands: a release refuses to write anything
while a contract function there has a body other than `raise NotImplementedError(...)`, so an
instructor who solved the assignment in the checkout never ships the solution.
"""

import ast
import json
import os
import secrets
import shutil
import sys
import tempfile
import zipfile

from keras_vae import checks, cli
from keras_vae.impl import CONTRACT

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The reference solution and the instructor's material stay out of every bundle.
SOLUTION_FILES = ("__init__.py", "release.py")
SOLUTION_FOLDERS = ("reference", "instructor", "__pycache__")
STUBS = os.path.join(ROOT, "assignments", "__init__.py")
SEED_NAME = "grading_seed"

BUNDLE_INIT = '''"""keras_vae (student bundle): data, training, evaluation, plots and the grader.

The contract itself is yours to write in `assignments/`; every command takes `--impl
assignments` by default in this bundle.
"""

DEFAULT_IMPL_NAME = "assignments"
'''

STUDENT_README = """# VAE assignment: student bundle

1. Read `assignments/README.md` and answer its theory questions.
2. Install: `python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt`
3. Fill in `assignments/__init__.py`, then grade yourself: `pytest` (or
   `python -m keras_vae.grade`).
4. Train your VAE: `python -m keras_vae.train --epochs 10 --out runs/mine`, then look at the
   plots in `runs/mine/`.
5. Hand in `assignments/__init__.py` (and your theory answers as a PDF).
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Grades $root/submission into $root/results/results.json (root: /autograder). Isolated mode
# (-I) keeps the working folder, PYTHONPATH and the user's site-packages off the grader's
# sys.path, and -B writes no bytecode: the grader runs only the code setup.sh installed.
root=${AUTOGRADER_ROOT:-/autograder}
cd / && exec "$root/venv/bin/python" -I -B -m keras_vae.autograder
"""

# The last part of setup.sh, on its own so that the tests can run it against a made-up venv.
# The grader runs submissions as the sandbox user only where that user can run its Python;
# otherwise it would run them as root, so the build fails instead.
SANDBOX_CHECK = """user=nobody
as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$@"; }
fail() { echo "setup.sh: $1, so the build fails." >&2; exit 1; }
grader="$root/venv/bin/python"
imports="import tensorflow, keras, numpy, keras_vae.graded.channel"
probe=$(cd / && as_user env HOME=/nonexistent KERAS_HOME=/nonexistent/.keras \\
  TF_CPP_MIN_LOG_LEVEL=3 "$grader" -I -B -c "$imports" 2>&1) \\
  || fail "user $user cannot import tensorflow, keras, numpy and keras_vae with $grader \\
($(printf '%s' "$probe" | tail -n 1)); it would grade submissions as root"
seeds=$(find "$root/venv" -path '*/keras_vae/graded/grading_seed')
[ -n "$seeds" ] || fail "the keras_vae installed in $root/venv has no graded/grading_seed; \\
it would grade with the public seed"
for seed in $seeds $(find "$root/source" -name grading_seed); do
  if as_user test -r "$seed"; then fail "user $user can read the secret seed $seed"; fi
done
writable=$(as_user find "$root" "$root/source" "$root/venv" -maxdepth 0 -writable
  as_user find "$root/source" "$root/venv" -writable -print -quit 2>/dev/null) || true
[ -z "$writable" ] || fail "user $user can change the grader's files \\
($(echo "$writable" | head -n 1)); a submission could change how it is graded"
"""

SETUP_SH = """#!/usr/bin/env bash
# Installs the grader into a virtual environment (never the system Python, which Ubuntu 24.04
# refuses to change) on Gradescope's Ubuntu 22.04 (Python 3.10) or 24.04 (Python 3.12) image.
set -euo pipefail
root=${AUTOGRADER_ROOT:-/autograder}
python=${AUTOGRADER_PYTHON:-python3}
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c "import ensurepip" 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
"$python" -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --quiet --upgrade pip
"$root/venv/bin/python" -m pip install --quiet -r "$root/source/requirements.txt"
# keras_vae itself, with its data, seed and visibility, so that the sandbox user imports it from
# the venv like any library; pip builds it in the source folder, and the build is removed.
chmod 600 "$root/source/keras_vae/graded/grading_seed"
"$root/venv/bin/python" -m pip install --quiet --no-deps "$root/source"
rm -rf "$root/source/build" "$root/source/keras_vae.egg-info"
# The submission runs as an unprivileged user: it may read the grader's code, not change it, and
# not read its seed.
chown -R 0:0 "$root/source" "$root/venv"
chmod -R u+rwX,go+rX,go-w "$root/source" "$root/venv"
chmod go-w "$root"
find "$root/source" "$root/venv" -name grading_seed -exec chmod 600 {} +
""" + SANDBOX_CHECK


# What grading needs; the tests' and the notebook's tools stay out of the autograder.
GRADING_REQUIREMENTS = ("keras", "matplotlib", "numpy", "tensorflow", "tensorflow-probability",
                        "tf_keras")


def _grading_requirements():
    with open(os.path.join(ROOT, "requirements.txt")) as file:
        lines = file.read().splitlines()
    return "\n".join(line for line in lines
                     if line.split("==")[0].strip() in GRADING_REQUIREMENTS) + "\n"


def _copy_package(destination):
    package = os.path.join(destination, "keras_vae")
    shutil.copytree(HERE, package, ignore=lambda folder, names: [
        n for n in names
        if (folder == HERE and (n in SOLUTION_FILES or n in SOLUTION_FOLDERS))
        or n in ("__pycache__", "grading_seed", "visibility.json")])
    with open(os.path.join(package, "__init__.py"), "w") as file:
        file.write(BUNDLE_INIT)
    for name in ("conftest.py", "requirements.txt"):
        shutil.copy(os.path.join(ROOT, name), destination)


def _is_stub(function):
    """Whether `function`'s body, after its docstring, is one `raise NotImplementedError...`."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def implemented(path=STUBS):
    """The contract names that the file `path` implements, in the contract's order.

    A function is a stub when its body is `raise NotImplementedError(...)`, and a layer when its
    `call` is; any other definition of a contract name (a body, an assignment, an import) is an
    implementation, and so is every name a `from ... import *` could bring in.
    """
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        tree = ast.parse(text, path)
    except SyntaxError as error:
        raise ValueError(f"{os.path.relpath(path, ROOT)} is not valid Python ({error.msg}, "
                         f"line {error.lineno}): a release would ship it as the stubs.") from None
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            function = node if not isinstance(node, ast.ClassDef) else next(
                (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "call"),
                None)
            if function is None or not _is_stub(function):
                defined.add(node.name)
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            defined.update(CONTRACT)
        else:  # an assignment, an import, or a definition nested in `if` or `try`
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    defined.add(child.id)
                elif isinstance(child, ast.alias):
                    defined.add((child.asname or child.name).partition(".")[0])
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    defined.add(child.name)
    return [name for name in CONTRACT if name in defined]


def check_stubs(path=STUBS):
    """Raises `ValueError` when the stubs file `path` implements a contract name: a release
    would ship the solution."""
    found = implemented(path)
    if found:
        raise ValueError(
            f"{os.path.relpath(path, ROOT)} implements {', '.join(found)}: a release would ship "
            "that solution to students. Put the stubs back (`git restore "
            "assignments/__init__.py` where the stubs are committed) and release again.")


def write_student_bundle(destination):
    """Writes the student bundle into `destination` (which must not exist)."""
    os.makedirs(destination)
    _copy_package(destination)
    shutil.copytree(os.path.join(ROOT, "assignments"), os.path.join(destination, "assignments"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(destination, "README.md"), "w") as file:
        file.write(STUDENT_README)


def parse_visibility(settings):
    """`["vae.beta=hidden", ...]` as a dict from rubric id to Gradescope visibility.

    Raises:
        ValueError: for an unknown rubric id or visibility, naming `--visibility`.
    """
    from keras_vae.graded.report import VISIBILITIES
    from keras_vae.graded.rubric import rubric

    ids = {item.id for item in rubric()}
    chosen = {}
    for setting in settings or ():
        item_id, _, value = setting.partition("=")
        if item_id not in ids or value not in VISIBILITIES:
            raise checks.invalid("--visibility", "RUBRIC_ID=VISIBILITY with a rubric id and "
                                 f"one of {', '.join(VISIBILITIES)}", setting)
        chosen[item_id] = value
    return chosen


def write_seed(path, seed):
    """Writes the instructor's copy of the grading seed to `path`, readable by its owner alone."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(f"{seed}\n")


def write_autograder_zip(path, staging, visibility=None, seed=None):
    """Writes Gradescope's autograder zip to `path`, building it in the folder `staging`.

    Args:
        visibility: dict from rubric id to Gradescope visibility; items not named are visible.
        seed: the secret grading seed (default: drawn here); the graded inputs derive from it
            by HMAC.
    """
    source = os.path.join(staging, "source")
    os.makedirs(source)
    _copy_package(source)
    with open(os.path.join(source, "keras_vae", "graded", SEED_NAME), "w") as file:
        file.write(f"{secrets.randbits(128) if seed is None else seed}\n")
    with open(os.path.join(source, "keras_vae", "graded", "visibility.json"), "w") as file:
        json.dump(visibility or {}, file, indent=2)
    with open(os.path.join(source, "requirements.txt"), "w") as file:
        file.write(_grading_requirements())
    for name in ("pyproject.toml", "README.md"):  # what setup.sh's `pip install` builds from
        shutil.copy(os.path.join(ROOT, name), source)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
        for folder, _, names in os.walk(source):
            for name in names:
                full = os.path.join(folder, name)
                archive.write(full, os.path.relpath(full, source))


def check_out(out):
    """Raises `ValueError` naming `out` where a release is already written, or could not be."""
    checks.folder("out", out, "a folder for the release")
    made = [name for name in ("student", "autograder.zip", SEED_NAME, "GRADESCOPE.md",
                              "classroom")
            if os.path.exists(os.path.join(out, name))]
    if made:
        raise checks.invalid("out", "a folder without a release in it", out,
                             f"which has {', '.join(made)}")


def release(out, visibility=None):
    """Writes the student bundle `out/student/`, Gradescope's `out/autograder.zip` with the
    instructor's page `out/GRADESCOPE.md` and seed `out/grading_seed`, and the GitHub Classroom
    template repository `out/classroom/`; returns the paths of the first two.

    Raises:
        ValueError: `out` holds a release, or the stubs implement a contract name
            (`check_stubs`); nothing is written then.
    """
    check_out(out)
    check_stubs()
    student = os.path.join(out, "student")
    write_student_bundle(student)
    zip_path = os.path.join(out, "autograder.zip")
    seed = secrets.randbits(128)
    with tempfile.TemporaryDirectory(prefix="keras-vae-autograder-") as staging:
        # The staging copy holds the secret seed: it goes with the zip, nowhere else.
        write_autograder_zip(zip_path, staging, visibility, seed)
    write_seed(os.path.join(out, SEED_NAME), seed)  # the instructor's copy, for class gradings
    shutil.copy(os.path.join(ROOT, "docs", "gradescope.md"), os.path.join(out, "GRADESCOPE.md"))
    from keras_vae.classroom import write_template

    write_template(os.path.join(out, "classroom"), write_student_bundle)
    return student, zip_path


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m keras_vae.release", description=__doc__)
    parser.add_argument("--out", required=True, help="folder to write the bundles into")
    parser.add_argument("--visibility", action="append", metavar="RUBRIC_ID=VISIBILITY",
                        help="Gradescope visibility of one rubric item (visible, after_due_date, "
                             "after_published or hidden); repeat for more items (default: all "
                             "visible)")
    args = parser.parse_args(argv)
    try:
        with cli.bad_input():
            visibility = parse_visibility(args.visibility)
            check_out(args.out)
        check_stubs()
    except cli.UsageError as error:
        return cli.usage_error(error, {"out": "--out"})
    except ValueError as error:  # the stubs are a solution
        return cli.usage_error(error)
    student, zip_path = release(args.out, visibility)
    print(f"Student bundle: {student}\nAutograder zip: {zip_path}\n"
          f"Seed for class gradings (yours alone): {os.path.join(args.out, SEED_NAME)}\n"
          f"Gradescope instructions: {os.path.join(args.out, 'GRADESCOPE.md')}\n"
          f"GitHub Classroom template: {os.path.join(args.out, 'classroom')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
