"""Finds and removes what a stage's user id leaves outside its processes.

A process can outlive nothing of a stage (`processes.end_stage`), but it can leave memory and
files behind that no process holds: files in the folders every user can write (`/dev/shm` is
memory), and System V shared memory, message queues and semaphores. They count against the
stage's memory limit while it runs (`shared_memory_kb`) and are removed when it ends
(`remove`), so nothing of one grading weighs on the next.
"""

import contextlib
import ctypes
import os
import shutil
import stat

SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue")
MEMORY_FOLDERS = ("/dev/shm",)
IPC_RMID = 0
# Each table's id column and the columns holding its owner's and creator's user ids.
SYSV_TABLES = {"shm": ("shmid", "uid", "cuid"), "msg": ("msqid", "uid", "cuid"),
               "sem": ("semid", "uid", "cuid")}


def _owned_entries(folder, uid):
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_uid == uid:
                found.append(entry)
    return found


def _sysv_rows(kind):
    try:
        with open(f"/proc/sysvipc/{kind}", "rb") as file:
            lines = file.read().decode("ascii", "replace").splitlines()
    except OSError:
        return []
    if not lines:
        return []
    header = lines[0].split()
    return [dict(zip(header, line.split())) for line in lines[1:] if line.split()]


def shared_memory_kb(uid):
    """Memory held for `uid` where no process's resident size shows it: files in `/dev/shm`
    and System V shared memory segments, in kB."""
    total = 0
    for folder in MEMORY_FOLDERS:
        for entry in _owned_entries(folder, uid):
            with contextlib.suppress(OSError):
                total += entry.stat(follow_symlinks=False).st_blocks * 512
    for row in _sysv_rows("shm"):
        if str(uid) in (row.get("uid"), row.get("cuid")):
            with contextlib.suppress(ValueError):
                total += int(row.get("size", 0))
    return total // 1024


def remove(uid):
    """Removes every file and folder `uid` owns at the top of `SHARED_FOLDERS` (no link
    followed) and every System V IPC object it owns or made; returns how many were removed."""
    removed = 0
    for folder in SHARED_FOLDERS:
        for entry in _owned_entries(folder, uid):
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed += 1
    libc = ctypes.CDLL(None, use_errno=True)
    calls = {"shm": lambda ident: libc.shmctl(ident, IPC_RMID, None),
             "msg": lambda ident: libc.msgctl(ident, IPC_RMID, None),
             "sem": lambda ident: libc.semctl(ident, 0, IPC_RMID)}
    for kind, (id_column, *owners) in SYSV_TABLES.items():
        for row in _sysv_rows(kind):
            if str(uid) in (row.get(column) for column in owners):
                with contextlib.suppress(ValueError):
                    removed += calls[kind](int(row[id_column])) == 0
    return removed
