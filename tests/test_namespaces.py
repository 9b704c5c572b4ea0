"""Where the kernel allows it, a stage's child has no network and System V IPC of its own: it
cannot reach a listener of the grader's machine, and the memory of its segments is freed with
the stage."""

import os
import socket
import subprocess
import time

import pytest

from keras_vae.graded import namespaces, processes, sandbox

PYTHON = "/usr/bin/python3"
needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(PYTHON)
    or subprocess.run(["unshare", "-n", "-i", "-u", "true"], capture_output=True).returncode != 0,
    reason="needs root, /usr/bin/python3 and unshare allowed")

CONNECT = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    print("connected")
except OSError as error:
    print("refused", type(error).__name__)
"""

SEGMENTS = """
import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.shmget.restype = ctypes.c_int
libc.shmat.restype = ctypes.c_void_p
size = 128 * 2**20
segment = libc.shmget(0, size, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
address = libc.shmat(segment, None, 0)
ctypes.memset(address, 1, size)
libc.shmdt(ctypes.c_void_p(address))
print("segment", segment, "over the cap", libc.shmget(0, 300 * 2**20, 0o1600), flush=True)
time.sleep(600)
"""


def _stage(tmp_path, code, *arguments):
    """A stage child of a fresh user id running `code`; returns `(child, identity)`. (Its home
    need not be reachable: the child enters it before it drops to that id.)"""
    _, (identity,) = sandbox.fresh_identities(1)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, identity.uid, identity.gid)
    read_fd, write_fd = os.pipe()
    child = sandbox.Child([PYTHON, "-I", "-c", code, *arguments], b"", write_fd, str(home),
                          identity)
    os.close(write_fd)
    os.close(read_fd)
    return child, identity


def _shmem_mb():
    with open("/proc/meminfo") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("Shmem:")) / 1024


@needs_namespaces
def test_a_stage_cannot_connect_to_a_listener_of_the_grader(tmp_path):
    """A TCP listener on the grader's 127.0.0.1 gets no connection from a stage's child, which
    runs in network, IPC and UTS namespaces of its own."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    try:
        child, identity = _stage(tmp_path, CONNECT, str(listener.getsockname()[1]))
        assert set(child.namespaces) == {"net", "ipc", "uts"}, child.namespaces
        assert child.wait(30) is not None, "expected the child to end"
        assert child.output().startswith("refused"), child.output()
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
        processes.end_stage(identity)


@pytest.mark.slow
@needs_namespaces
def test_system_v_memory_of_a_stage_is_capped_and_freed_with_it(tmp_path):
    """A stage's 128 MB System V segment, detached and left, holds memory while the stage runs
    and none once it has ended; one over the 256 MB cap of its namespace is refused."""
    before = _shmem_mb()
    child, identity = _stage(tmp_path, SEGMENTS)
    try:
        for _ in range(300):
            if "segment" in child.output():
                break
            time.sleep(0.1)
        words = child.output().split()
        assert words[:1] == ["segment"] and words[-1] == "-1", child.output()
        assert _shmem_mb() - before > 100, (before, _shmem_mb())
    finally:
        assert processes.end_stage(identity)
    for _ in range(50):
        if _shmem_mb() - before < 64:
            break
        time.sleep(0.1)
    assert _shmem_mb() - before < 64, f"expected the segment freed, Shmem {before} -> {_shmem_mb()}"


def test_namespaces_are_described_for_the_notes():
    """The notes name the namespaces got, and say so when there were none."""
    assert namespaces.describe({"net", "ipc", "uts"}) == (
        "its own network, IPC and UTS namespaces; no network")
    assert namespaces.describe(set()).startswith("no namespace of its own")
