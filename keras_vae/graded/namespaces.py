"""Puts a stage's child in Linux namespaces of its own, where the kernel lets the grader.

A root grader's child, still root between fork and exec, enters a new network namespace (only
a loopback that is down: no connection reaches anything outside), a new IPC namespace (its
System V shared memory, message queues and semaphores die with the stage's last process) and a
new UTS namespace (its host name is its own). This is best effort: where `unshare` is refused
(a container's seccomp profile, a grader that is not root) the child runs as before, and
`entered` says which namespaces a child got, for the grading's notes.

The grader cannot see System V objects in another IPC namespace (`/proc/sysvipc` shows the
reader's own), so it cannot count their memory; inside the new namespace they are capped
instead (`IPC_LIMITS`), and the IPC namespace is entered only where those caps can be written.
"""

import ctypes
import os

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
KINDS = {"net": CLONE_NEWNET, "ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS}
NAMES = {"net": "network", "ipc": "IPC", "uts": "UTS"}
SHM_BYTES = 256 * 2**20
# Per-namespace limits: shared memory in all (pages) and per segment (bytes); 16 message queues
# of the default 16 kB; 32 semaphore sets of 32.
IPC_LIMITS = {"shmall": str(SHM_BYTES // os.sysconf("SC_PAGE_SIZE")), "shmmax": str(SHM_BYTES),
              "msgmni": "16", "sem": "32 1024 32 32"}


def _unshare(flags):
    if hasattr(os, "unshare"):  # Python 3.12 and later
        try:
            os.unshare(flags)
            return True
        except OSError:
            return False
    try:
        return ctypes.CDLL(None, use_errno=True).unshare(flags) == 0
    except (OSError, AttributeError):
        return False


def _cap_ipc():
    for name, value in IPC_LIMITS.items():
        with open(f"/proc/sys/kernel/{name}", "w") as file:
            file.write(value)


def enter():
    """Enters new namespaces (all of `KINDS` at once, else each that is allowed); to be called
    in a forked child that is still root, before it drops its ids. Returns the names entered."""
    if os.geteuid() != 0:
        return ()
    wanted = dict(KINDS)
    if not all(os.access(f"/proc/sys/kernel/{name}", os.W_OK) for name in IPC_LIMITS):
        del wanted["ipc"]  # where the caps cannot be set, its memory must stay countable
    if _unshare(sum(wanted.values())):
        entered = tuple(wanted)
    else:
        entered = tuple(name for name, flag in wanted.items() if _unshare(flag))
    if "ipc" in entered:
        try:
            _cap_ipc()
        except OSError:  # writable a moment ago; the child runs rather than the grading fail
            pass
    return entered


def entered(pid):
    """The names of the namespaces in which process `pid` differs from this process (empty
    where it cannot be read, as for a process already gone)."""
    found = []
    for name in KINDS:
        try:
            if os.readlink(f"/proc/{pid}/ns/{name}") != os.readlink(f"/proc/self/ns/{name}"):
                found.append(name)
        except OSError:
            return ()
    return tuple(found)


def describe(names):
    """The sentence for the grading's notes on the namespaces every stage ran in."""
    if not names:
        return "no namespace of its own (the kernel refused them, or the grader is not root)"
    listed = [NAMES[name] for name in KINDS if name in names]
    text = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    suffix = "; no network" if "net" in names else ""
    return f"its own {text} namespace{'s' * (len(listed) > 1)}{suffix}"
