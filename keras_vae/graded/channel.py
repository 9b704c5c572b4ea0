"""The observation channel between the sandboxed child and the grading process.

Messages are JSON lines. Arrays travel as base64 float64 bytes with their shape and are decoded
with `np.frombuffer`, never unpickled, so a message can only ever be data. The grading process
accepts a message only with the run's token, within size limits, and for the item it expects.
"""

import base64
import ctypes
import json
import math
import os
import sys

import numpy as np

MAX_LINE_BYTES = 16 * 2**20
MAX_DEPTH = 6
MAX_ITEMS = 4096


class ChannelError(ValueError):
    """A message that is not well-formed data."""


INPUT_DTYPES = ("float32", "float64", "int64")


def to_data(value, depth=0, keep_dtype=False):
    """Converts tensors, arrays, numbers and containers to JSON-ready data.

    Observations travel as float64; inputs (`keep_dtype=True`) keep their float32 or int64.
    """
    if depth > MAX_DEPTH:
        return {"repr": "nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:2000]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value) if abs(int(value)) < 2**53 else float(value)
    if isinstance(value, (float, np.floating)):
        return {"float": float(value)} if not math.isfinite(value) else float(value)
    if isinstance(value, dict):
        return {"dict": {str(k)[:200]: to_data(v, depth + 1, keep_dtype)
                         for k, v in list(value.items())[:MAX_ITEMS]}}
    if isinstance(value, (list, tuple)):
        return {"list": [to_data(v, depth + 1, keep_dtype) for v in list(value)[:MAX_ITEMS]]}
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if not (keep_dtype and array.dtype.name in INPUT_DTYPES):
            array = array.astype(np.float64)
    except Exception:  # anything that is not numeric data is described, not sent
        return {"repr": f"an object of type {type(value).__name__}"}
    return {"shape": list(array.shape), "dtype": array.dtype.name,
            "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()}


def from_data(data, depth=0):
    """The inverse of `to_data`, validating every node (grading process side)."""
    if depth > MAX_DEPTH:
        raise ChannelError("nested too deeply")
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if not isinstance(data, dict) or len(data) > 3:
        raise ChannelError("unexpected node")
    if "float" in data:
        return float(data["float"])
    if "repr" in data:
        return Described(str(data["repr"])[:200])
    if "dict" in data and isinstance(data["dict"], dict):
        return {str(k): from_data(v, depth + 1) for k, v in data["dict"].items()}
    if "list" in data and isinstance(data["list"], list):
        return [from_data(v, depth + 1) for v in data["list"]]
    shape, encoded, dtype = data.get("shape"), data.get("data"), data.get("dtype")
    if (not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape)
            or len(shape) > 8 or not isinstance(encoded, str) or dtype not in INPUT_DTYPES):
        raise ChannelError("malformed array")
    raw = base64.b64decode(encoded, validate=True)
    dtype = np.dtype(dtype)
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise ChannelError("array size does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class Described(str):
    """A value the child could not send as data, by its description."""

    def __repr__(self):
        return str(self)


def encode(message):
    return json.dumps(message, separators=(",", ":")) + "\n"


def decode(line, token):
    """Parses one line; returns the message, or `None` for anything not from the harness."""
    if len(line) > MAX_LINE_BYTES:
        return None
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None  # deep nesting or bytes that are not JSON: not from the harness
    if not isinstance(message, dict) or message.get("token") != token:
        return None
    return message


PR_SET_DUMPABLE = 4


def child_end():
    """A child's end of the channel: its request (one JSON document on stdin, which is then
    closed) and `send(**message)`, which writes a message with the run's token.

    The process makes itself not dumpable first: no process of its user can read its memory
    (the token, the graded inputs) through `/proc` or attach to it.
    """
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    sys.stdin = open(os.devnull)
    channel_file = os.fdopen(request["fd"], "w", buffering=1)

    def send(**message):
        channel_file.write(encode(dict(message, token=request["token"])))
        channel_file.flush()

    return request, send


def roundtrip(value, keep_dtype=False):
    """What the other side receives for `value` (in-process grading sends nothing)."""
    return from_data(json.loads(json.dumps(to_data(value, keep_dtype=keep_dtype))))
