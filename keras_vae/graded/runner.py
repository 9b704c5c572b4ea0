"""The sandboxed process that runs a submission's exported graphs on the graded inputs.

Usage (by `keras_vae.grade` only): `python -I -B keras_vae/graded/runner.py < request.json`

It never imports the submission: it checks each SavedModel against the allow-list of
`graphcheck`, loads it with `tf.saved_model.load`, runs the item's `run` on the graded inputs
and sends the observations back on the channel (`ready`, `imported`, then `start` and `result`
for every item). The grading process judges them.
"""

import os
import sys


def observe(item, folder, inputs):
    """Runs `item` on the graphs exported to `folder`; returns the result message's fields."""
    from keras_vae.graded import channel
    from keras_vae.graded.graphs import ForbiddenGraph, Graphs, MissingGraph

    try:
        observed = item.run(Graphs(os.path.join(folder, item.export)), inputs)
    except ForbiddenGraph as error:
        return {"error": {"type": "ForbiddenGraph", "message": str(error)[:2000],
                          "forbidden": True}}
    except MissingGraph as error:
        return {"failed": f"{error}: the graphs of your code were not all written."}
    except AssertionError as failure:  # a run that found the structure wrong says why
        return {"failed": str(failure)[:4000]}
    except Exception as error:  # the graph failed while it ran
        return {"error": {"type": type(error).__name__, "message": str(error)[:1000]}}
    return {"observed": channel.to_data(observed)}


def main():
    from keras_vae.graded import channel, rubric

    request, send = channel.child_end()

    import tensorflow  # noqa: F401  (the grader's own start-up, before any item's time starts)

    items = {item.id: item for item in rubric.rubric()}
    send(event="ready")
    send(event="imported")
    for job in request["items"]:
        send(event="start", id=job["id"])
        inputs = channel.from_data(job["inputs"])
        send(event="result", id=job["id"], **observe(items[job["id"]], request["folder"], inputs))
    send(event="done")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    main()
