"""Finds a student's submission in what they uploaded, and stages it for grading.

Accepted: `assignments/__init__.py`, or a lone `__init__.py`, at the top or up to three folders
deep (an upload one folder too deep is still found), or a `.zip` of either. Anything else is
refused with a message saying what was expected and what was found.
"""

import os
import zipfile

from keras_vae.graded import safefiles

EXPECTED = ("assignments/__init__.py (or the file __init__.py on its own), at the top of the "
            "upload")
MAX_DEPTH = 3
MAX_FILES = 2000
MAX_SOURCE_BYTES = 16 * 2**20


class SubmissionError(ValueError):
    """An upload without a gradable file; the message says what was expected and found."""


def _listing(folder):
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__MACOSX", "__pycache__"))]
        found += [os.path.relpath(os.path.join(root, name), folder) for name in names]
        if len(found) > MAX_FILES:
            break
    return sorted(found)


def find(folder):
    """Returns the path of the submitted `__init__.py` in `folder`.

    Raises:
        SubmissionError: when there is none, or more than one candidate at the same depth.
    """
    files = _listing(folder)
    for depth in range(MAX_DEPTH + 1):
        at_depth = [f for f in files if f.count(os.sep) == depth + 1
                    and f.endswith(os.path.join("assignments", "__init__.py"))]
        lone = [f for f in files if f.count(os.sep) == depth and os.path.basename(f) == "__init__.py"]
        candidates = at_depth or lone
        if len(candidates) == 1:
            return os.path.join(folder, candidates[0])
        if len(candidates) > 1:
            raise SubmissionError(f"expected one {EXPECTED}; received several: "
                                  f"{', '.join(candidates[:5])}.")
    python = [f for f in files if f.endswith(".py")]
    shown = ", ".join(python[:8] or files[:8]) or "no files"
    raise SubmissionError(f"expected {EXPECTED}; received {shown}."
                          + (" Rename your file to __init__.py (inside a folder named "
                             "assignments) and upload it again." if python else ""))


def unpack(path, destination):
    """`path` itself when it is a folder; a `.zip` is extracted into `destination` first."""
    if os.path.isdir(path):
        return path
    if not zipfile.is_zipfile(path):
        raise SubmissionError(f"expected a folder or a .zip; received {os.path.basename(path)!r}.")
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            target = os.path.realpath(os.path.join(destination, member.filename))
            if not target.startswith(os.path.realpath(destination) + os.sep):
                raise SubmissionError(f"the zip holds a path outside itself: {member.filename!r}.")
        if sum(member.file_size for member in archive.infolist()) > 200 * 2**20:
            raise SubmissionError("the zip unpacks to more than 200 MB.")
        archive.extractall(destination)
    return destination


def stage(init_file, destination):
    """Copies the submitted file to `destination/assignments/__init__.py`, readable by all.

    Raises:
        SubmissionError: when the file is a link, a device or a FIFO, or is too large.
    """
    try:
        data = safefiles.read_regular(init_file, MAX_SOURCE_BYTES)
    except OSError as error:
        raise SubmissionError(f"expected {EXPECTED} as a regular file; received "
                              f"{os.path.basename(init_file)!r}, which could not be read as one "
                              f"({error.strerror or error}).") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"expected {EXPECTED} of at most {MAX_SOURCE_BYTES // 2**20} MB; "
                              f"received a larger file.")
    package = os.path.join(destination, "assignments")
    os.makedirs(package, exist_ok=True)
    safefiles.write_private(os.path.join(package, "__init__.py"), data, mode=0o644)
    for path in (destination, package):
        os.chmod(path, 0o755)
    return destination
