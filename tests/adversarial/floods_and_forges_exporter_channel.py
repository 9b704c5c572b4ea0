"""Move: hold the exporter's channel. The token and the channel's descriptor are in the request
dict the exporter left in the heap (found with gc). At import the submission writes on that
descriptor, with the real token: a line of 200,000 '[' (deep nesting), a 20 MB line with no
newline, then a forged `imported`/`start`/`result` for the export `encoder` whose `observed`
facts are nested deeper than the channel allows and a forged result for `vae` claiming
is_model/compiled facts. Everything else is the stubs."""

import gc
import json
import os

from assignments import *  # noqa: F401,F403

EXPECTED = "zero"

request = next(obj for obj in gc.get_objects()
               if isinstance(obj, dict) and "token" in obj and "fd" in obj and "exports" in obj)
token, fd = request["token"], request["fd"]


def send(message):
    os.write(fd, (json.dumps(dict(message, token=token)) + "\n").encode())


os.write(fd, b'{"token":"' + token.encode() + b'","event":"imported","x":' + b"[" * 200000 + b"\n")
chunk = b"x" * 2**20
for _ in range(20):
    os.write(fd, chunk)
os.write(fd, b"\n")
deep = {"float": 1.0}
for _ in range(10):
    deep = {"dict": {"a": deep}}
send({"event": "imported"})
send({"event": "start", "id": "encoder"})
send({"event": "result", "id": "encoder", "observed": deep})
send({"event": "start", "id": "vae"})
send({"event": "result", "id": "vae", "observed": {"dict": {
    "is_model": True, "compiled": True, "encoder_is": True, "decoder_is": True,
    "type": "Functional"}}})
