"""The sandboxed process that imports a submission and reports what its code computes.

Usage (by `keras_vae.grade` only): `python -m keras_vae.graded.child < request.json`

It reads one request from stdin (the implementation's module name, the item ids, their inputs,
a token and the channel's file descriptor), then sends one JSON line per event on the channel:
`ready`, `imported` (or `import_error`), then `start` and `result` for every item. It sends
observations only: numbers, arrays, and exception types and texts. Every verdict is reached in
the grading process, which this process cannot reach.
"""

import json
import os
import sys
import traceback

from keras_vae.graded import channel, rubric


def submission_files(module):
    path = os.path.realpath(getattr(module, "__file__", "") or "")
    folder = os.path.dirname(path)
    if os.path.basename(path) == "__init__.py":
        return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}
    return {path}


def describe(error, files):
    """An exception as data: its type, text, where it was raised and the submission's frame."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if os.path.realpath(frame.filename) in files]
    description = {"type": type(error).__name__, "message": str(error)[:1000],
                   "in_submission": bool(frames) and bool(own) and own[-1] is frames[-1]}
    if frames:
        description["raised_at"] = f"{frames[-1].filename}:{frames[-1].lineno}"
    if own:
        frame = own[-1]
        description["submission_frame"] = (f"{os.path.basename(frame.filename)}:{frame.lineno} "
                                           f"in {frame.name}")
    return description


def main():
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    sys.stdin = open(os.devnull)
    channel_file = os.fdopen(request["fd"], "w", buffering=1)
    token = request["token"]

    def send(**message):
        channel_file.write(channel.encode(dict(message, token=token)))
        channel_file.flush()

    import keras  # noqa: F401  (imported before the submission, whose import is timed alone)

    from keras_vae.impl import load_impl

    # The probes are bound before the submission is imported, so that replacing the rubric's
    # entries afterwards changes nothing here.
    probes = {item.id: item.probe for item in rubric.rubric()}
    send(event="ready")
    files = set()
    try:
        impl = load_impl(request["impl"])
        files = submission_files(impl)
    except BaseException as error:  # noqa: B036  (any failure of the submission is reported)
        send(event="import_error", error=describe(error, files))
        return
    send(event="imported")
    for item_id in request["items"]:
        inputs = channel.from_data(request["inputs"][item_id])
        send(event="start", id=item_id)
        keras.utils.set_random_seed(request["seeds"][item_id])
        try:
            observed = channel.to_data(probes[item_id](impl, inputs))
        except BaseException as error:  # noqa: B036
            send(event="result", id=item_id, error=describe(error, files))
        else:
            send(event="result", id=item_id, observed=observed)
    send(event="done")


if __name__ == "__main__":
    main()
