"""Runs submission code contained by what the kernel enforces.

Where the grader is root, each stage of a grading (the exporter, which imports the submission,
and the runner, which runs its graphs) runs as a user id of its own, drawn fresh for that stage
from a range no account and no running process uses (`identities.py`). A process can rename
itself, detach, stop or hide from a scan, but it cannot change its user id: so a stage's
processes are found, counted against the memory limit and killed by user id (`processes.py`),
and no process of another stage or another grading can signal, trace or read them. Each child
(`Child`) also gets `PR_SET_NO_NEW_PRIVS` (no set-uid program changes its ids), `RLIMIT_NPROC`,
no core files, a file-size limit and, where the kernel allows it, namespaces of its own
(`namespaces.py`).

Where the grader is not root (a student grading their own work), the children run as the
grader's own user: the grader is a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so
processes the submission detaches are re-parented to it and `processes.end_stage` finds and
kills them among its descendants; that score is feedback.
"""

import ctypes
import os
import pwd
import resource
import signal
import subprocess
import sys
import threading

from keras_vae.graded import namespaces, processes
from keras_vae.graded.identities import Identity, fresh_identities

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_USER = "fresh"
OUTPUT_TAIL_BYTES = 64 * 1024
MAX_TASKS = 1024  # processes and threads of one stage (TensorFlow starts a few dozen threads)


def become_subreaper():
    """Makes orphaned descendants of this process its children; returns whether it worked."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _base_env(home):
    keep = ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return dict(env, HOME=home, TMPDIR=home, PYTHONDONTWRITEBYTECODE="1",
                TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
                KERAS_HOME=os.path.join(home, ".keras"))


def _ids(identity):
    if identity is None:
        return {}
    return {"user": identity.uid, "group": identity.gid,
            "extra_groups": list(getattr(identity, "groups", ()) or ())}


def sandbox_user(name, python):
    """The `Identity` to run submissions as, or `(None, reason)`.

    `name` is `"fresh"` (a new user id per stage, `fresh_identities`) or an account's name (every
    stage as that account). Only a root grader can switch users; the user must be able to run
    `python` with keras_vae and TensorFlow.
    """
    if os.geteuid() != 0:
        return None, "the grader is not root, so the submission ran as the grader's own user"
    if name == DEFAULT_USER:
        identity = fresh_identities(1)[1][0]._replace(groups=())
        label = "a fresh user id"
    else:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None, f"there is no user {name!r} to run the submission as"
        identity = Identity(entry.pw_uid, entry.pw_gid, entry.pw_name)
        label = f"user {name!r}"
    check = (f"import sys; sys.path.insert(0, {ROOT!r}); import keras_vae.graded.exports, "
             "keras_vae.graded.runner")
    try:
        probe = subprocess.run([python, "-I", "-B", "-c", check], **_ids(identity),
                               capture_output=True, cwd="/", timeout=60, env=_base_env("/"))
        usable = probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        usable = False
    finally:
        if name == DEFAULT_USER:
            processes.kill_user(identity)
    if not usable:
        return None, (f"{label} cannot run {python} with keras_vae and TensorFlow "
                      f"(file permissions: a Python under a private home folder such as /root "
                      f"cannot be run by other users)")
    return identity, None


def sandbox_user_or_note(name, seed_kind="public"):
    """`(user, containment)`: whom the submission runs as (an `Identity`, `"fresh"` ids per
    stage, or `None` for this process's user), and the sentence that says so."""
    if not name or name == "none":
        note = "no sandbox user was asked for, so the submission ran as the grader's user"
        user = None
    else:
        user, note = sandbox_user(name, sys.executable)
    if user is not None:
        package = os.path.join(ROOT, "keras_vae")
        unsafe = writable_by(user, [os.getcwd(), ROOT, package, os.path.join(package, "graded")])
        if not unsafe:
            if name == DEFAULT_USER:
                return DEFAULT_USER, ("the submission ran as fresh user ids, one for each stage "
                                      "and none shared with any other process")
            return user, f"the submission ran as user {user.name!r}"
        user, note = None, (f"user {name!r} can write {', '.join(unsafe)}, where the grader "
                            "runs or imports from")
    if seed_kind != "secret":
        note += ("; on the grader's own account a submission can change that account's files, "
                 "so this score is feedback")
    return None, note


def writable_by(user, folders):
    """The folders among `folders` in which `user` could create or change files: a grader that
    runs or imports from one of them could be made to run the submission's code."""
    uid, gid = user[0], user[1]
    found = []
    for folder in folders:
        try:
            info = os.stat(folder)
        except OSError:
            continue
        if (info.st_uid == uid or (info.st_gid == gid and info.st_mode & 0o020)
                or info.st_mode & 0o002):
            found.append(os.path.abspath(folder))
    return sorted(set(found))


def _limit_child(identity):
    def limit():
        try:
            with open("/proc/self/oom_score_adj", "w") as file:
                file.write("1000")  # the kernel's out-of-memory killer takes the child first
        except OSError:
            pass
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 2**20, 256 * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        namespaces.enter()  # while still root: entering one needs it
        try:
            ctypes.CDLL(None).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass
        if identity is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_TASKS, MAX_TASKS))
            os.setgroups(list(identity.groups))
            os.setresgid(identity.gid, identity.gid, identity.gid)
            os.setresuid(identity.uid, identity.uid, identity.uid)
    return limit


class Child:
    """A sandboxed child process, its drained output and its memory.

    Its request is written to its stdin by a thread of its own, so a child that never reads
    (stopped, or busy) never blocks the grader. `namespaces` names those it runs in
    (`namespaces.enter`).
    """

    def __init__(self, command, stdin_bytes, pass_fd, home, user):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(pass_fd,), cwd=home, env=_base_env(home), start_new_session=True,
            preexec_fn=_limit_child(user))
        self.user = user
        self.namespaces = namespaces.entered(self.process.pid)
        self._tail = bytearray()
        self.output_bytes = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        threading.Thread(target=self._write, args=(stdin_bytes,), daemon=True).start()

    def _write(self, data):
        try:
            self.process.stdin.write(data)
            self.process.stdin.close()
        except (OSError, ValueError):  # the child ended, or was killed, before reading it all
            pass

    def _drain(self):
        while chunk := self.process.stdout.read1(65536):
            self.output_bytes += len(chunk)
            self._tail += chunk
            del self._tail[:-OUTPUT_TAIL_BYTES]

    def output(self, limit=4000):
        """The last `limit` characters the child and its descendants printed."""
        self._reader.join(timeout=1)
        text = self._tail.decode(errors="replace")[-limit:]
        if self.output_bytes > limit:
            text = f"[... {self.output_bytes - limit} earlier bytes cut]\n" + text
        return text

    def wait(self, seconds=5.0):
        """Waits up to `seconds` for the child itself to end; returns its status or `None`."""
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None


def end_stages_on_terminate():
    """Turns SIGTERM into `SystemExit`, so that a grading told to stop ends the stage it runs
    (`children.run` ends it on the way out) before this process exits."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
