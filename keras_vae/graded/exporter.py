"""The sandboxed process that imports a submission and exports its graphs.

Usage (by `keras_vae.grade` only): `python -I -B keras_vae/graded/exporter.py < request.json`

It reads one request from stdin: the implementation's module name, the folders to find it in,
the exports to make (each with its configuration and seed), the folder to write them to, a
token and the channel's file descriptor. It sends one JSON line per event on the channel:
`ready`, `imported` (or `import_error`), then `start` and `result` for every export. A result
carries only what `exports` says the submission's process can see of its objects; every
number that is judged comes from the runner, which loads the graphs this process wrote.
"""

import os
import sys
import traceback


def submission_files(module):
    path = os.path.realpath(getattr(module, "__file__", "") or "")
    folder = os.path.dirname(path)
    if os.path.basename(path) == "__init__.py":
        return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}
    return {path}


def _check_found_in(impl, paths):
    """Raises `ImportError` unless `impl` was imported from one of the folders `paths`: a
    folder this process cannot read must not let another module of the same name be graded."""
    path = os.path.realpath(getattr(impl, "__file__", "") or "")
    folders = [os.path.realpath(folder) for folder in paths]
    if paths and not any(path.startswith(folder + os.sep) for folder in folders):
        readable = [folder for folder in folders if os.access(folder, os.R_OK | os.X_OK)]
        raise ImportError(f"the grader was to import {impl.__name__} from {', '.join(paths)} "
                          f"but found {path or 'no file'}"
                          + ("" if readable else " (the grader's sandbox user cannot read "
                             "that folder)"))


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
    from keras_vae.graded import channel

    request, send = channel.child_end()

    import keras

    from keras_vae.graded import exports
    from keras_vae.impl import load_impl

    send(event="ready")
    sys.path[:0] = request["paths"]
    files = set()
    try:
        impl = load_impl(request["impl_name"])
        files = submission_files(impl)
        _check_found_in(impl, request["paths"])
    except BaseException as error:  # noqa: B036  (any failure of the submission is reported)
        send(event="import_error", error=describe(error, files))
        return
    send(event="imported")
    for job in request["exports"]:
        send(event="start", id=job["name"])
        keras.utils.set_random_seed(job["seed"])
        try:
            archives, facts = exports.EXPORTS[job["name"]](impl, job["config"])
            for name, archive in archives.items():
                archive.write_out(os.path.join(request["out"], job["name"], name), verbose=False)
        except BaseException as error:  # noqa: B036
            send(event="result", id=job["name"], error=describe(error, files))
        else:
            send(event="result", id=job["name"], observed=channel.to_data(facts))
    send(event="done")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    main()
