"""The observation channel carries data only, and only the harness's messages."""

import json

import numpy as np
import pytest

from keras_vae.graded import channel


def test_observations_round_trip_as_float64_data():
    """Arrays, numbers, lists, dicts and None survive; arrays arrive as float64."""
    sent = {"z": np.arange(6, dtype=np.float32).reshape(2, 3), "n": 3, "f": 0.5, "none": None,
            "pair": (np.ones(2), [1, 2]), "flag": True}
    received = channel.roundtrip(sent)
    assert received["z"].dtype == np.float64 and received["z"].tolist() == sent["z"].tolist()
    assert (received["n"], received["f"], received["none"], received["flag"]) == (3, 0.5, None, True)
    assert received["pair"][1] == [1.0, 2.0]


def test_inputs_keep_their_dtype():
    """Inputs keep float32 and int64, so the submission sees what the item made."""
    received = channel.roundtrip({"x": np.ones(2, np.float32), "i": np.arange(3)}, keep_dtype=True)
    assert received["x"].dtype == np.float32 and received["i"].dtype == np.int64


def test_objects_are_described_not_sent():
    """A value that is not numeric data arrives as its description."""
    received = channel.roundtrip({"model": object()})
    assert received["model"] == "an object of type object"


def test_messages_without_the_token_are_dropped():
    """A line without the run's token, or not JSON, or too long, is not a message."""
    line = channel.encode({"token": "abc", "event": "start"})
    assert channel.decode(line, "abc") == {"token": "abc", "event": "start"}
    assert channel.decode(line, "other") is None
    assert channel.decode("not json", "abc") is None
    assert channel.decode(" " * (channel.MAX_LINE_BYTES + 1), "abc") is None


@pytest.mark.parametrize("node", [
    {"shape": [3], "data": "AAAA", "dtype": "float64"},
    {"shape": [1], "data": "AAAAAAAAAAA=", "dtype": "object"},
    {"shape": [-1], "data": "", "dtype": "float64"},
    {"unknown": 1},
    {"list": [{"list": [{"list": [{"list": [{"list": [{"list": [{"list": [1]}]}]}]}]}]}]},
])
def test_malformed_data_is_refused(node):
    """Arrays whose size does not match, unknown dtypes or nodes, and deep nesting are refused."""
    with pytest.raises((channel.ChannelError, ValueError)):
        channel.from_data(json.loads(json.dumps(node)))


def test_deeply_nested_lines_are_dropped_not_raised():
    """A 200,000-deep JSON line carrying the real token is ignored, not a RecursionError."""
    line = b'{"token": "t", "x": ' + b"[" * 200000 + b"]" * 200000 + b"}"
    assert channel.decode(line, "t") is None
    assert channel.decode(b"\xff\xfe not json", "t") is None
