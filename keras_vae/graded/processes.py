"""Finds a stage's processes, counts their memory and ends them.

A stage with a user id of its own is found by that id and killed by it (`kill_user`), whatever
its processes do to their names, sessions or parents; a stage on the grader's own user is found
among the descendants of this process, a child subreaper (`sandbox.become_subreaper`).
"""

import os
import signal
import time

from keras_vae.graded import identities, leftovers, proctable


def stage_pids(user, table=None):
    """Pids of the stage run as `user`: every process of its user id where it has one of its
    own, and every descendant of this process."""
    table = table or proctable.read()
    pids = set(proctable.descendants(table))
    if user is not None and user.uid != os.geteuid():
        pids |= {pid for pid, (_, uid, _) in table.items() if uid == user.uid}
    return pids


def memory_mb(user=None):
    """Memory of the stage together, in MB: its processes' resident memory and, for a stage
    with a user id of its own, the shared memory that id holds without a process."""
    table = proctable.read()
    kb = sum(table[pid][2] for pid in stage_pids(user, table) if pid in table)
    if user is not None and user.uid != os.geteuid():
        kb += leftovers.shared_memory_kb(user.uid)
    return kb / 1024


def kill_user(user, rounds=20, reap=True):
    """Stops, then kills, every process of `user`'s id, from a forked process whose real and
    saved user id is a fresh one of its own and whose effective id is `user`'s: it may signal
    every process of `user` (their real id is its effective id), and none of them may signal
    or trace it (its real and saved ids are not theirs). It repeats `kill(-1)` until the kernel
    finds no process to signal or `rounds` pass (zombies still count until they are reaped).
    With `reap`, this subreaper reaps its other ended children meanwhile (a class grading,
    whose children are other gradings, passes `False`).
    """
    _, (killer,) = identities.fresh_identities(1, record=False)
    pid = os.fork()
    if pid == 0:  # only system calls from here on: this process never returns to Python's code
        try:
            os.setgroups([])
            os.setresgid(killer.gid, user.gid, killer.gid)
            os.setresuid(killer.uid, user.uid, killer.uid)
            for _ in range(rounds):
                os.kill(-1, signal.SIGSTOP)  # a stopped process can neither fork nor move
                os.kill(-1, signal.SIGKILL)
                time.sleep(0.005)
        except BaseException:  # noqa: BLE001  (ProcessLookupError: none is left)
            pass
        os._exit(0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        if reap:
            _reap_others(pid)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _reap_others(keep):
    """Reaps this process's ended children other than `keep` (the stage's processes that were
    re-parented to this subreaper), so that they stop counting as processes."""
    for pid in [pid for pid, (ppid, _, _) in proctable.read(zombies=True).items()
                if ppid == os.getpid() and pid != keep]:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_stage(user=None):
    """Kills every process of the stage (see `stage_pids`) until none is left, and reaps them.

    A stage with a user id of its own is killed by that id (`kill_user`), never by pids read
    from a scan, which a process could leave between the scan and the kill; the scan only
    confirms that none is left. Without one, the descendants of this process are killed.

    Returns:
        Whether none is left (`False` only if processes outlived a few seconds of SIGKILLs).
    """
    own = user is not None and user.uid != os.geteuid()
    for _ in range(50):
        if own:
            kill_user(user)
        _reap()
        table = proctable.read()
        alive = [pid for pid in stage_pids(user, table) if pid in table]
        if not alive:
            if own:
                leftovers.remove(user.uid)
            return True
        for pid in proctable.descendants(table):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
        _reap()
    return False


def end_user(user, seconds=10.0):
    """Kills every process of `user`'s id (`kill_user`) until none is left, and removes what
    the id left behind (`leftovers.remove`); never reaps nor signals anything by pid, so it
    is safe in a process whose other children are not the stage's. Returns whether none is
    left."""
    deadline = time.monotonic() + seconds
    while True:
        kill_user(user, reap=False)
        if not any(uid == user.uid for _, uid, _ in proctable.read().values()):
            leftovers.remove(user.uid)
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
