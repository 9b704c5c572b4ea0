"""The wording of feedback that is not a judge's own: errors raised by the submission's code
while its graphs were built, failures of the graphs in the runner, work that stopped or never
ran, and the pointer from a failing test to the function it builds on."""

import os
import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LIKELY = "Likely mistake:"
NOT_IMPLEMENTED = "not implemented yet (the stub still raises NotImplementedError)"
HINTS = {"does not have a `call()` method": "a keras.Model subclass needs a call() method: "
                                            "vae(x), fit and evaluate all use it."}
LIBRARIES = {"keras": "Keras", "tensorflow_probability": "TensorFlow Probability",
             "tensorflow": "TensorFlow", "numpy": "NumPy"}


def core_text(text):
    """An exception's text without terminal colours, blank lines or Keras' call wrapper."""
    lines = [line.strip() for line in ANSI.sub("", str(text)).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    lines = [line for line in lines if not line.startswith(("Arguments received by", "•"))]
    return " ".join(lines[:3])[:600]


def _library(path):
    for name, title in LIBRARIES.items():
        if f"{os.sep}{name}{os.sep}" in path:
            return title
    return "Python"


def error_message(error):
    """Feedback for an exception the submission's code raised while its graphs were built.

    Args:
        error: dict with `type`, `message`, and where known `in_submission` (raised in the
            submission's own code), `raised_at` (`file:line`) and `submission_frame`.
    """
    error = error if isinstance(error, dict) else {}
    kind, text = str(error.get("type"))[:100], core_text(error.get("message", ""))
    if kind == "NotImplementedError" and error.get("in_submission") is True:
        return NOT_IMPLEMENTED
    where = error.get("submission_frame")
    where = str(where)[:300] if where else None
    if error.get("in_submission") or not error.get("raised_at"):
        message = f"{kind}: {text}" + (f" (your code, {where})" if where else "")
    else:
        place = f", called from your code at {where}" if where else ""
        message = f"{_library(str(error['raised_at']))} raised {kind}{place}: {text}"
    hint = next((hint for key, hint in HINTS.items() if key in text), None)
    return message + (f"\nLikely mistake: {hint}" if hint else "")


def run_error(error):
    """Feedback for a failure of the exported graphs in the runner."""
    error = error if isinstance(error, dict) else {}
    text = core_text(error.get("message", ""))
    if error.get("forbidden"):
        return ("the exported graph was not run: it uses operations that reach outside the "
                f"computation ({text}). Only math, array, neural-network, random and "
                "variable operations may run; this is flagged for the instructor.")
    return (f"running the graph exported from your code raised {str(error.get('type'))[:100]}: "
            f"{text}")


def import_failed(text):
    return f"could not import the implementation: {text}"


NOT_STOPPED = ("not graded: processes the submission started could not be stopped, so its "
               "graphs were not run")


def told_once(first_id):
    """Every item but the first after an import failure: the reason is told once, at `first_id`."""
    return f"not graded: the submission failed to import, see {first_id}."


def stopped(stage, reason):
    """A child that stopped: `stage` is "building" or "running" the graphs, or "importing"."""
    if stage == "importing":
        return f"the submission could not be imported: {reason}."
    return f"{stage} your graphs failed: {reason}."


def did_not_run(deadline_seconds=None):
    """An item that never ran: the deadline passed (`deadline_seconds`), or its process stopped."""
    if deadline_seconds is not None:
        return (f"did not run: the grading deadline of {deadline_seconds:g} s passed before "
                "this test ran.")
    return "did not run: the test process stopped before reaching this test."


def not_run_as_own_user(containment):
    return (f"not graded: {containment}; with the secret seed the grader runs no submission "
            "code as its own user. Ask the instructor to check the autograder's set-up.")


def explain_dependencies(rows, items):
    """Points each failing item at a contract name it builds on that fails its own items; the
    item's own guess at the mistake is dropped, since the failure it saw may be that name's.

    Args:
        rows: dict from item id to its row (`status`, `message`), changed in place.
        items: dict from item id to its `item.Item`.
    """
    failing = {}
    for item_id, item in items.items():
        if rows[item_id]["status"] == "failed":
            failing.setdefault(item.uses[0], []).append(item_id)
    for item_id, item in items.items():
        row = rows[item_id]
        if row["status"] != "failed" or row["message"] == NOT_IMPLEMENTED:
            continue
        broken = [name for name in item.uses[1:] if name in failing]
        if broken:
            observed = row["message"].split(f"\n{LIKELY}")[0]
            row["message"] = (f"{observed}\nFix {broken[0]} first: it fails "
                              f"{', '.join(failing[broken[0]][:3])}, and this test builds on "
                              "it.")
