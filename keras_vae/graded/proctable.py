"""Reads the machine's process table from `/proc`, whatever the processes call themselves."""

import os


def read(zombies=False):
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


def descendants(table=None):
    """Pids of every living descendant of this process."""
    table = table or read()
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [os.getpid()]
    while stack:
        for pid in children.get(stack.pop(), []):
            found.append(pid)
            stack.append(pid)
    return found
