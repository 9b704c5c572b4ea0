"""Atomic files: written to a partial file, flushed to disk, then renamed into place, so a
reader (or a run killed at any moment) sees the old file or the new one, never a torn one; and
JSON read back."""

import json
import os


def replace_atomically(path, write):
    """Calls `write(partial_path)`, flushes the file to disk and renames it to `path`.

    The partial file is in the same directory and ends like `path` (Keras and matplotlib
    choose the format from the suffix), so `os.replace` is a rename within one file system.
    """
    folder, name = os.path.split(path)
    partial = os.path.join(folder, f".partial.{name}")
    write(partial)
    with open(partial, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(partial, path)
    _sync_directory(folder or ".")


def write_text(path, text):
    """Writes `text` to `path` atomically."""
    def write(partial):
        with open(partial, "w", newline="") as file:
            file.write(text)
    replace_atomically(path, write)


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def read_json(path):
    """The JSON value in `path`, or `None` when the file does not exist."""
    try:
        with open(path) as file:
            return json.load(file)
    except FileNotFoundError:
        return None


def _sync_directory(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
