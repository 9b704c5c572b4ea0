"""Containment is what the kernel enforces: a stage's processes are found, counted and killed
by user id whatever they do to their names, sessions or parents; stages cannot reach each
other; nothing a child or an upload does blocks the grader."""

import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from keras_vae.graded import processes, proctable, safefiles, sandbox, submission

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching user ids needs root")

# A process that hides: a name that is not UTF-8, a new session, its parent gone, stopped
# between its moves, and a pid written where the test can read it.
HIDER = r"""
import ctypes, os, signal, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
ctypes.CDLL(None).prctl(15, b"\xff\xfe)\n(x", 0, 0, 0)
data = bytearray(int(sys.argv[2]) * 2**20)
for i in range(0, len(data), 4096):
    data[i] = 1
with open(sys.argv[1], "w") as file:
    file.write(str(os.getpid()))
time.sleep(600)
"""


@pytest.fixture
def open_tmp():
    """A folder every user can traverse (pytest's tmp_path is under a 0700 folder)."""
    folder = tempfile.mkdtemp(prefix="keras-vae-sandbox-test-")
    os.chmod(folder, 0o755)
    yield pathlib.Path(folder)
    shutil.rmtree(folder)


# A process that fights its kill: it stops every process it may signal and moves to a new pid
# every few milliseconds (fork, then the parent exits), so a pid read from a scan is stale.
FIGHTER = r"""
import os, signal, sys, time
if os.fork():
    os._exit(0)
os.setsid()
with open(sys.argv[1], "w") as file:
    file.write(str(os.getpid()))
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        os.kill(-1, signal.SIGSTOP)
    except OSError:
        pass
    if os.fork():
        os._exit(0)
    time.sleep(0.004)
"""


def _uid_of(pid):
    """The user id of the living process `pid`, or `None` (gone, or a zombie)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as file:
            for line in file:
                if line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                    return None
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _start(identity, tmp_path, megabytes=1):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if identity is not None:
        os.chown(home, identity.uid, identity.gid)
    script = tmp_path / "hider.py"
    script.write_text(HIDER)
    os.chmod(script, 0o644)
    pid_file = home / "pid"
    read_fd, write_fd = os.pipe()
    child = sandbox.Child(["/usr/bin/python3", "-I", str(script), str(pid_file), str(megabytes)],
                          b"", write_fd, str(home), identity)
    os.close(write_fd)
    os.close(read_fd)
    child.wait(30)
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            return int(pid_file.read_text())
        time.sleep(0.05)
    raise AssertionError(f"expected the hider to write its pid; it printed {child.output()!r}")


@needs_root
def test_fresh_identities_are_used_by_no_account_and_no_process():
    """Each stage's user id, and the grading's group, is new: no account, no process has it."""
    group, identities = sandbox.fresh_identities(2)
    ids = {group} | {identity.uid for identity in identities}
    assert len(ids) == 3 and all(identity.groups == (group,) for identity in identities)
    import pwd
    assert not ids & {entry.pw_uid for entry in pwd.getpwall()}
    assert not ids & {uid for _, uid, _ in proctable.read().values()}


@needs_root
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")
def test_a_renamed_detached_process_is_counted_and_killed_by_user_id(open_tmp):
    """A process with a name that is not UTF-8, in its own session, orphaned, holding 300 MB,
    is counted against the stage's memory and killed when the stage ends."""
    _, (identity,) = sandbox.fresh_identities(1)
    pid = _start(identity, open_tmp, megabytes=300)
    assert _uid_of(pid) == identity.uid
    assert processes.memory_mb(identity) >= 290, processes.memory_mb(identity)
    assert processes.end_stage(identity)
    assert _uid_of(pid) is None, f"expected process {pid} to be gone"
    assert not processes.stage_pids(identity)


@needs_root
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")
def test_a_process_that_stops_what_it_can_and_changes_pid_is_still_killed(open_tmp):
    """A stage process that stops every process it may signal and moves to a new pid every
    few milliseconds cannot stop its killer, and ends with the stage."""
    assert sandbox.become_subreaper()
    _, (identity,) = sandbox.fresh_identities(1)
    script = open_tmp / "fighter.py"
    script.write_text(FIGHTER)
    os.chmod(script, 0o644)
    home = open_tmp / "home"
    home.mkdir()
    os.chown(home, identity.uid, identity.gid)
    read_fd, write_fd = os.pipe()
    child = sandbox.Child(["/usr/bin/python3", "-I", str(script), str(home / "pid")], b"",
                          write_fd, str(home), identity)
    os.close(write_fd)
    os.close(read_fd)
    child.wait(30)
    for _ in range(300):
        if (home / "pid").exists():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    started = time.monotonic()
    assert processes.end_stage(identity)
    assert time.monotonic() - started < 30
    time.sleep(0.5)
    assert not processes.stage_pids(identity), "expected no process of the stage's id left"


LEAVER = r"""
import ctypes, os
with open("/dev/shm/left-behind", "wb") as file:
    file.write(b"x" * (40 * 2**20))
os.makedirs("/tmp/left-behind-folder/inner")
libc = ctypes.CDLL(None)
libc.shmget.restype = ctypes.c_int
segment = libc.shmget(0, 30 * 2**20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
libc.shmat.restype = ctypes.c_void_p
address = libc.shmat(segment, None, 0)
ctypes.memset(address, 1, 30 * 2**20)
libc.shmdt(ctypes.c_void_p(address))
print("segment", segment)
"""


@needs_root
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")
def test_memory_left_without_a_process_counts_and_is_removed_with_the_stage(open_tmp):
    """A file in /dev/shm and a System V segment that no process holds count against the
    stage's memory, and they and a folder in /tmp are gone once the stage ends."""
    from keras_vae.graded import leftovers

    _, (identity,) = sandbox.fresh_identities(1)
    completed = subprocess.run(["/usr/bin/python3", "-I", "-c", LEAVER], user=identity.uid,
                               group=identity.gid, extra_groups=[], capture_output=True,
                               text=True, cwd="/", timeout=60)
    assert completed.returncode == 0, completed.stderr
    try:
        assert processes.memory_mb(identity) >= 69, processes.memory_mb(identity)
        assert processes.end_stage(identity)
        assert not os.path.exists("/dev/shm/left-behind")
        assert not os.path.exists("/tmp/left-behind-folder")
        assert leftovers.shared_memory_kb(identity.uid) == 0
    finally:
        leftovers.remove(identity.uid)


def test_a_renamed_detached_process_is_a_descendant_the_grader_sees(tmp_path):
    """On the grader's own user, the same hider is found among the subreaper's descendants
    (its name does not stop the scan) and killed."""
    assert sandbox.become_subreaper()
    pid = _start(None, tmp_path)
    assert pid in proctable.descendants()
    assert processes.end_stage(None)
    assert _uid_of(pid) is None


@needs_root
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")
def test_one_stage_cannot_signal_another_stage(open_tmp):
    """A process of one fresh user id cannot stop or kill a process of another."""
    group, (first, second) = sandbox.fresh_identities(2)
    victim = _start(second, open_tmp)
    probe = subprocess.run(
        ["/usr/bin/python3", "-I", "-c",
         f"import os, signal\ntry:\n    os.kill({victim}, signal.SIGSTOP)\n"
         f"except PermissionError:\n    print('refused')\nos.kill(-1, signal.SIGKILL)"],
        user=first.uid, group=first.gid, extra_groups=list(first.groups), capture_output=True,
        text=True, timeout=30)
    assert probe.stdout.strip() == "refused", probe.stdout + probe.stderr
    assert _uid_of(victim) == second.uid, "expected the other stage's process to live on"
    with open(f"/proc/{victim}/status", "rb") as file:
        assert b"State:\tS" in file.read(), "expected the other stage's process not stopped"
    assert processes.end_stage(second) and processes.end_stage(first)


def test_a_child_that_never_reads_its_request_does_not_block_the_grader(tmp_path):
    """A request of 8 MB to a child that stops itself at once returns at once."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    child = sandbox.Child(["/bin/sh", "-c", "kill -STOP $$"], b"x" * (8 * 2**20), write_fd,
                          str(tmp_path), None)
    os.close(write_fd)
    assert time.monotonic() - started < 5
    os.kill(child.process.pid, signal.SIGKILL)
    child.wait(10)
    os.close(read_fd)


@pytest.mark.parametrize("kind", ["link to a device", "fifo", "link to a file"])
def test_staging_refuses_what_is_not_a_regular_file_without_blocking(kind, tmp_path):
    """An upload whose __init__.py is a link (to /dev/ptmx or another file) or a FIFO is refused
    at once with the expected file named."""
    upload = tmp_path / "upload"
    upload.mkdir()
    target = upload / "__init__.py"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "link to a device":
        os.symlink("/dev/ptmx", target)
    else:
        (tmp_path / "elsewhere.py").write_text("x = 1\n")
        os.symlink(tmp_path / "elsewhere.py", target)
    started = time.monotonic()
    with pytest.raises(submission.SubmissionError, match="as a regular file"):
        submission.stage(submission.find(str(upload)), str(tmp_path / "staging"))
    assert time.monotonic() - started < 5


def test_copying_a_tree_keeps_regular_files_only(tmp_path):
    """The runner's copy of the exports holds folders and regular files; links, FIFOs and
    devices are left out and counted."""
    source = tmp_path / "source"
    (source / "graph").mkdir(parents=True)
    (source / "graph" / "saved_model.pb").write_bytes(b"\x08\x01")
    os.symlink("/etc/passwd", source / "graph" / "variables")
    os.mkfifo(source / "fifo")
    left_out = safefiles.copy_tree(str(source), str(tmp_path / "copy"))
    assert left_out == 2
    assert (tmp_path / "copy" / "graph" / "saved_model.pb").read_bytes() == b"\x08\x01"
    assert sorted(os.listdir(tmp_path / "copy")) == ["graph"]
    assert os.listdir(tmp_path / "copy" / "graph") == ["saved_model.pb"]


@needs_root
def test_a_grading_folder_is_closed_to_every_other_grading(open_tmp):
    """Another grading's user cannot enter a grading's folder, let alone its exports; the
    grading's exporter can write its exports, and its runner cannot."""
    from keras_vae.graded import grading

    group, (exporter, runner) = sandbox.fresh_identities(2)
    _, (stranger, _) = sandbox.fresh_identities(2)
    work = open_tmp / "grading"
    work.mkdir()
    homes = grading.make_folders(str(work), group, exporter, runner)

    def try_as(identity, command):
        return subprocess.run(["/bin/sh", "-c", command], user=identity.uid, group=identity.gid,
                              extra_groups=list(identity.groups), capture_output=True,
                              text=True, timeout=30, cwd="/").returncode == 0

    exports = homes["exports"]
    assert not try_as(stranger, f"ls {work}") and not try_as(stranger, f"ls {exports}")
    assert not try_as(stranger, f"touch {exports}/x")
    assert try_as(exporter, f"touch {exports}/graph") and not try_as(exporter, f"ls {work}")
    assert not try_as(runner, f"ls {exports}") and not try_as(runner, f"touch {exports}/y")
    assert try_as(runner, f"touch {homes['runner']}/scratch")


def test_copying_a_tree_is_bounded_in_entries_depth_and_time(tmp_path, monkeypatch):
    """Folders count against the copy's budget, a tree deeper than the limit is cut, and a
    deadline already passed copies nothing below the top."""
    monkeypatch.setattr(safefiles, "MAX_COPIED_ENTRIES", 200)
    wide, deep = tmp_path / "wide", tmp_path / "deep"
    for n in range(safefiles.MAX_COPIED_ENTRIES + 50):
        (wide / str(n)).mkdir(parents=True)
    path = deep
    for n in range(100):
        path = path / "d"
    path.mkdir(parents=True)
    assert safefiles.copy_tree(str(wide), str(tmp_path / "wide-copy")) >= 50
    assert len(os.listdir(tmp_path / "wide-copy")) < safefiles.MAX_COPIED_ENTRIES
    assert safefiles.copy_tree(str(deep), str(tmp_path / "deep-copy")) == 1
    depth = sum(1 for _ in (tmp_path / "deep-copy").rglob("d"))
    assert depth == safefiles.MAX_DEPTH - 1, depth
    assert safefiles.copy_tree(str(wide), str(tmp_path / "late"), deadline=time.monotonic() - 1) \
        == safefiles.MAX_COPIED_ENTRIES + 50
    assert os.listdir(tmp_path / "late") == []
