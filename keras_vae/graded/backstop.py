"""Runs one grade process of a class grading within a backstop time, and leaves no process of it.

A grading's stages run as fresh user ids that only its grade process knows; if that process
were killed, they would outlive it. So the grade process appends each id it draws to a record
file this process names for it (`identities.RECORD_VARIABLE`), before any process runs as it; the
file is in this process's private folder, where no stage can reach it. Past the backstop the
grade process gets SIGTERM (it ends the stage it runs, `sandbox.end_stages_on_terminate`), then
SIGKILL `TERM_SECONDS` later; whatever happened, every recorded id's processes are then killed
and its leftovers removed (`processes.end_user`). Every wait is bounded.
"""

import subprocess

from keras_vae.graded import identities, processes

TERM_SECONDS = 10.0  # how long a grade process told to stop may take to end its stages
KILL_SECONDS = 10.0  # how long a killed grade process may take to be gone


def run(command, cwd, env, seconds, record):
    """Runs `command` in `cwd` with `env`, its output discarded, for at most `seconds`; its
    fresh user ids are recorded in the file `record` (a path only this user can write).
    Returns whether it ended within `seconds`."""
    with open(record, "w"):
        pass
    process = subprocess.Popen(command, cwd=cwd, env={**env, identities.RECORD_VARIABLE: record},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    in_time = _wait(process, seconds)
    if not in_time:
        process.terminate()
        if not _wait(process, TERM_SECONDS):
            process.kill()
            _wait(process, KILL_SECONDS)
    for user in identities.recorded_identities(record):
        processes.end_user(user)
    return in_time


def _wait(process, seconds):
    try:
        process.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False
