"""Implements nothing; leaves a detached process (double fork, new session) that waits for the
grader to finish, then overwrites every results.json it can name and leaves a mark."""
import json
import os
import time

from assignments import *  # noqa: F401,F403

MARK = os.environ.get("ADVERSARY_MARK", "/tmp/keras-vae-adversary-mark")
targets = []
try:
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as file:
        arguments = file.read().decode(errors="replace").split("\0")
    targets = [arguments[i + 1] for i, a in enumerate(arguments[:-1]) if a == "--json"]
except OSError:
    pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(4)
        for target in targets:
            with open(target, "w") as file:
                json.dump({"score": 54.0}, file)
        with open(MARK, "w") as file:
            file.write("survived")
        os._exit(0)
    os._exit(0)
