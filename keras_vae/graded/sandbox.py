"""Runs submission code contained: its own session, another user where the grader is root,
a memory limit, and no process left behind.

The grading process makes itself a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so a
process the submission detaches (double fork, `setsid`) is re-parented to the grader rather than
to init, and `kill_descendants` finds and ends it.
"""

import ctypes
import os
import pwd
import resource
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_USER = "nobody"
OUTPUT_TAIL_BYTES = 64 * 1024


def become_subreaper():
    """Makes orphaned descendants of this process its children; returns whether it worked."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def sandbox_user(name, python):
    """`(uid, gid, name)` of the user to run submissions as, or `(None, reason)`.

    Only a root grader can switch users; the user must be able to run `python`.
    """
    if os.geteuid() != 0:
        return None, "the grader is not root, so the submission ran as the grader's own user"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None, f"there is no user {name!r} to run the submission as"
    check = (f"import sys; sys.path.insert(0, {ROOT!r}); import keras_vae.graded.exports, "
             "keras_vae.graded.runner")
    try:
        probe = subprocess.run([python, "-I", "-B", "-c", check],
                               user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                               capture_output=True, cwd="/", timeout=60, env=_base_env("/"))
        usable = probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        usable = False
    if not usable:
        return None, (f"user {name!r} cannot run {python} with keras_vae and TensorFlow "
                      f"(file permissions)")
    return (entry.pw_uid, entry.pw_gid, name), None


def sandbox_user_or_note(name, seed_kind="public"):
    """`(user, containment)`: whom the submission runs as, and the sentence that says so."""
    if not name or name == "none":
        return None, "no sandbox user was asked for, so the submission ran as the grader's user"
    user, note = sandbox_user(name, sys.executable)
    if user is not None:
        package = os.path.join(ROOT, "keras_vae")
        unsafe = writable_by(user, [os.getcwd(), ROOT, package, os.path.join(package, "graded")])
        if not unsafe:
            return user, f"the submission ran as user {user[2]!r}"
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


def _base_env(home):
    keep = ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return dict(env, HOME=home, TMPDIR=home, PYTHONDONTWRITEBYTECODE="1",
                TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
                KERAS_HOME=os.path.join(home, ".keras"))


def _limit_child(dropping_user):
    def limit():
        try:
            with open("/proc/self/oom_score_adj", "w") as file:
                file.write("1000")  # the kernel's out-of-memory killer takes the child first
        except OSError:
            pass
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 2**20, 256 * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if dropping_user:
            resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))
    return limit


class Child:
    """A sandboxed child process, its drained output and its memory."""

    def __init__(self, command, stdin_bytes, pass_fd, home, user):
        env = _base_env(home)
        ids = {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(pass_fd,), cwd=home, env=env, start_new_session=True,
            preexec_fn=_limit_child(user is not None), **ids)
        self._tail = bytearray()
        self.output_bytes = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        try:
            self.process.stdin.write(stdin_bytes)
            self.process.stdin.close()
        except OSError:  # the child ended before reading its request
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


def _process_table():
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[21]))  # ppid, rss pages
        except (OSError, IndexError, ValueError):
            continue
    return table


def descendants(table=None):
    """Pids of every living descendant of this process."""
    table = table or _process_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [os.getpid()]
    while stack:
        for pid in children.get(stack.pop(), []):
            found.append(pid)
            stack.append(pid)
    return found


def memory_mb():
    """Resident memory of all descendants together, in MB."""
    table = _process_table()
    pages = sum(table[pid][1] for pid in descendants(table) if pid in table)
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def kill_descendants():
    """SIGKILLs every descendant (detached ones included) until none is left, and reaps them."""
    for _ in range(50):
        pids = list(descendants())
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
