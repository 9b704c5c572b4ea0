"""Reads and copies files a submission controls without ever blocking on them.

A submission's folder may hold links (to `/dev/ptmx`, to the secret seed), FIFOs and devices. Every
file the grader reads or copies from it is opened without following a link and without
blocking, checked to be a regular file, and read up to a bound; anything else is skipped or
refused, never waited on.
"""

import os
import stat
import time

MAX_COPIED_BYTES = 1024 * 2**20
MAX_COPIED_ENTRIES = 10_000  # files and folders
MAX_DEPTH = 32


class NotARegularFile(OSError):
    """A path that is a link, a device, a FIFO or a socket, where a regular file was expected."""


def read_regular(path, limit):
    """The first `limit` + 1 bytes of the regular file `path` (a link is never followed).

    Raises:
        NotARegularFile: when `path` is anything but a regular file.
        OSError: when it cannot be opened or read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if os.path.islink(path):
            raise NotARegularFile(f"{path} is a link") from error
        raise
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotARegularFile(f"{path} is not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def write_private(path, data, uid=None, gid=None, mode=0o640):
    """Writes `data` to the new file `path` (never through a link), owned by `uid:gid` where
    given."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, mode)
    try:
        if uid is not None:
            os.fchown(descriptor, uid, gid)
        os.fchmod(descriptor, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def copy_tree(source, destination, uid=None, gid=None, deadline=None):
    """Copies the folders and regular files under `source` to the new folder `destination`,
    owned by `uid:gid` where given (folders 0750, files 0640); links, devices, FIFOs and
    sockets are left out. Stops at `MAX_COPIED_ENTRIES` files and folders, `MAX_COPIED_BYTES`
    bytes, `MAX_DEPTH` folders deep, or at `deadline` (a `time.monotonic()` value).

    Returns:
        The number of entries left out (folders left out whole count once).
    """
    budget = {"entries": MAX_COPIED_ENTRIES, "bytes": MAX_COPIED_BYTES, "left_out": 0,
              "deadline": deadline}
    _copy_folder(source, destination, uid, gid, budget, 0)
    return budget["left_out"]


def _make_folder(path, uid, gid):
    os.mkdir(path, 0o750)
    if uid is not None:
        os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, 0o750, follow_symlinks=False)


def _spent(budget):
    return budget["entries"] <= 0 or (budget["deadline"] is not None
                                      and time.monotonic() > budget["deadline"])


def _copy_folder(source, destination, uid, gid, budget, depth):
    _make_folder(destination, uid, gid)
    budget["entries"] -= 1
    try:
        entries = list(os.scandir(source))
    except OSError:
        budget["left_out"] += 1
        return
    for entry in entries:
        target = os.path.join(destination, entry.name)
        try:
            if _spent(budget):
                budget["left_out"] += 1
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 >= MAX_DEPTH:
                    budget["left_out"] += 1
                else:
                    _copy_folder(entry.path, target, uid, gid, budget, depth + 1)
                continue
            if not entry.is_file(follow_symlinks=False):
                budget["left_out"] += 1
                continue
            data = read_regular(entry.path, budget["bytes"])
            if len(data) > budget["bytes"]:
                budget["left_out"] += 1
                budget["bytes"] = 0
                continue
            write_private(target, data, uid, gid)
            budget["entries"] -= 1
            budget["bytes"] -= len(data)
        except OSError:
            budget["left_out"] += 1
