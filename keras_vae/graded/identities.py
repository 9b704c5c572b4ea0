"""Draws the fresh user ids a root grader runs each stage of a grading as, and records them.

Fresh ids come from [2**30, 2**30 + 2**29): far above the ids of accounts (under 2**16 on every
distribution) and of the usual user-namespace ranges (2**16 to 2**24), and each is checked
against every account and every running process. A class grading names a record file for each
grade process (`RECORD_VARIABLE`), so that it can end the processes of every id drawn even if
the grade process itself is killed (`backstop.py`).
"""

import grp
import os
import pwd
import secrets
import typing

from keras_vae.graded import proctable

FRESH_BASE, FRESH_SPAN = 2**30, 2**29
RECORD_VARIABLE = "KERAS_VAE_IDENTITY_RECORD"


class Identity(typing.NamedTuple):
    """The ids one sandboxed stage runs as: `uid`, `gid`, a `name` for messages and the
    supplementary `groups` (the grading's own group, which lets it enter the grading's folder)."""

    uid: int
    gid: int
    name: str
    groups: tuple = ()


def _ids_in_use():
    used = {entry.pw_uid for entry in pwd.getpwall()} | {entry.pw_gid for entry in pwd.getpwall()}
    used |= {entry.gr_gid for entry in grp.getgrall()}
    return used | {uid for _, uid, _ in proctable.read().values()}


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
