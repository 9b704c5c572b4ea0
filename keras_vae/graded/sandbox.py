"""Runs submission code contained by what the kernel enforces.

Where the grader is root, each stage of a grading (the exporter, which imports the submission,
and the runner, which runs its graphs) runs as a user id of its own, drawn fresh for that stage
from a range no account and no running process uses (`fresh_identities`). A process can rename
itself, detach, stop or hide from a scan, but it cannot change its user id: so a stage's
processes are found, counted against the memory limit and killed by user id (`kill(-1)` sent
as that user reaches every one of them and nothing else), and no process of another stage or
another grading can signal, trace or read them. Children also get `PR_SET_NO_NEW_PRIVS` (no
set-uid program changes their ids), `RLIMIT_NPROC`, no core files and a file-size limit.

Where the grader is not root (a student grading their own work), the children run as the
grader's own user: the grader is a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so
processes the submission detaches are re-parented to it and `end_stage` finds and kills them
among its descendants; that score is feedback.
"""

import ctypes
import grp
import os
import pwd
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time
import typing

from keras_vae.graded import leftovers, namespaces

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_USER = "fresh"
OUTPUT_TAIL_BYTES = 64 * 1024
# Fresh ids come from [2**30, 2**30 + 2**29): far above the ids of accounts (under 2**16 on
# every distribution) and of the usual user-namespace ranges (2**16 to 2**24).
FRESH_BASE, FRESH_SPAN = 2**30, 2**29
MAX_TASKS = 1024  # processes and threads of one stage (TensorFlow starts a few dozen threads)
RECORD_VARIABLE = "KERAS_VAE_IDENTITY_RECORD"


class Identity(typing.NamedTuple):
    """The ids one sandboxed stage runs as: `uid`, `gid`, a `name` for messages and the
    supplementary `groups` (the grading's own group, which lets it enter the grading's folder)."""

    uid: int
    gid: int
    name: str
    groups: tuple = ()


def become_subreaper():
    """Makes orphaned descendants of this process its children; returns whether it worked."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _process_table(zombies=False):
    """`{pid: (ppid, uid, rss_kb)}` of every process (and zombie, where asked), read from
    `/proc/PID/status` as bytes: a process's name cannot hide it (the kernel escapes newlines
    in it) nor stop the parse."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as file:
                status = file.read()
        except OSError:
            continue
        fields = {}
        for line in status.split(b"\n"):
            key, _, value = line.partition(b":")
            if key in (b"State", b"PPid", b"Uid", b"VmRSS"):
                fields[key] = value.split()
        if not zombies and fields.get(b"State", [b"?"])[0] in (b"Z", b"X"):
            continue  # a zombie runs nothing and holds no memory; reaping it is its parent's
        try:
            table[int(name)] = (int(fields[b"PPid"][0]), int(fields[b"Uid"][0]),
                                int(fields[b"VmRSS"][0]) if b"VmRSS" in fields else 0)
        except (KeyError, IndexError, ValueError):
            continue
    return table


def _ids_in_use():
    used = {entry.pw_uid for entry in pwd.getpwall()} | {entry.pw_gid for entry in pwd.getpwall()}
    used |= {entry.gr_gid for entry in grp.getgrall()}
    return used | {uid for _, uid, _ in _process_table().values()}


def fresh_identities(count, record=True):
    """A fresh group for one grading and `count` stage identities in it, each with a user and
    group id of its own that no account and no running process has.

    Where the environment names a record file (`RECORD_VARIABLE`, set by a class grading for
    each grade process) and `record` is true, the user ids are appended to it before any
    process can run as them: the class grading ends their processes if this one cannot.

    Returns:
        `(group_id, [Identity, ...])`.

    Raises:
        OSError: if the record cannot be written (no process may run unrecorded).
    """
    used, chosen = _ids_in_use(), []
    while len(chosen) < count + 1:
        candidate = FRESH_BASE + secrets.randbelow(FRESH_SPAN)
        if candidate not in used and candidate not in chosen:
            chosen.append(candidate)
    group = chosen[0]
    if record and os.environ.get(RECORD_VARIABLE):
        with open(os.environ[RECORD_VARIABLE], "a") as file:
            file.write("".join(f"{uid}\n" for uid in chosen[1:]))
    return group, [Identity(uid, uid, f"uid {uid}", (group,)) for uid in chosen[1:]]


def recorded_identities(path, limit=1 << 20):
    """The fresh identities written to the record file `path` (see `fresh_identities`); lines
    that are not a user id of the fresh range are ignored, so no other user is ever named."""
    try:
        with open(path, "rb") as file:
            lines = file.read(limit).split(b"\n")
    except OSError:
        return []
    uids = {int(line) for line in lines if line.strip().isdigit()}
    return [Identity(uid, uid, f"uid {uid}") for uid in sorted(uids)
            if FRESH_BASE <= uid < FRESH_BASE + FRESH_SPAN]


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
            kill_user(identity)
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


def descendants(table=None):
    """Pids of every living descendant of this process."""
    table = table or _process_table()
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [os.getpid()]
    while stack:
        for pid in children.get(stack.pop(), []):
            found.append(pid)
            stack.append(pid)
    return found


def stage_pids(user, table=None):
    """Pids of the stage run as `user`: every process of its user id where it has one of its
    own, and every descendant of this process."""
    table = table or _process_table()
    pids = set(descendants(table))
    if user is not None and user.uid != os.geteuid():
        pids |= {pid for pid, (_, uid, _) in table.items() if uid == user.uid}
    return pids


def memory_mb(user=None):
    """Memory of the stage together, in MB: its processes' resident memory and, for a stage
    with a user id of its own, the shared memory that id holds without a process."""
    table = _process_table()
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
    _, (killer,) = fresh_identities(1, record=False)
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
    for pid in [pid for pid, (ppid, _, _) in _process_table(zombies=True).items()
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
        table = _process_table()
        alive = [pid for pid in stage_pids(user, table) if pid in table]
        if not alive:
            if own:
                leftovers.remove(user.uid)
            return True
        for pid in descendants(table):
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
        if not any(uid == user.uid for _, uid, _ in _process_table().values()):
            leftovers.remove(user.uid)
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def end_stages_on_terminate():
    """Turns SIGTERM into `SystemExit`, so that a grading told to stop ends the stage it runs
    (`children.run` ends it on the way out) before this process exits."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
