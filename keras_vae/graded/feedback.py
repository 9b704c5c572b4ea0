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


def _builds_on(items):
    """Each contract name's prerequisites: the names its own items exercise besides it."""
    below = {}
    for item in items.values():
        below.setdefault(item.uses[0], set()).update(item.uses[1:])
    return below


def _all_below(names, below):
    """`names` and every name they build on, however deep."""
    found, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(below.get(name, ()))
    return found


def prerequisite_line(roots, failing):
    """The first line of an item that fails because of the names in `roots`."""
    if len(roots) == 1:
        return (f"Fix {roots[0]} first: it fails {', '.join(failing[roots[0]])}, and this test "
                "builds on it.")
    fails = "; ".join(f"{name} fails {', '.join(failing[name])}" for name in roots)
    return (f"Fix {', '.join(roots[:-1])} and {roots[-1]} first: {fails}; this test builds on "
            "them.")


def explain_dependencies(rows, items):
    """Puts first, in each failing item's feedback, the contract names it builds on (however
    deeply) that fail their own items and build on no failing name themselves: the root
    causes. The item's own guess at the mistake is dropped, since the failure it saw may be
    theirs.

    Args:
        rows: dict from item id to its row (`status`, `message`), changed in place.
        items: dict from item id to its `item.Item`.
    """
    failing = {}
    for item_id, item in items.items():
        if rows[item_id]["status"] == "failed":
            failing.setdefault(item.uses[0], []).append(item_id)
    below = _builds_on(items)
    for item_id, item in items.items():
        row = rows[item_id]
        if (row["status"] != "failed" or row["message"] == NOT_IMPLEMENTED
                or row["message"].startswith(("not graded:", "did not run:"))):
            continue
        broken = (_all_below(item.uses[1:], below) - {item.uses[0]}) & failing.keys()
        roots = [name for name in failing if name in broken
                 and not (_all_below(below.get(name, ()), below) - {name}) & failing.keys()]
        if broken:
            observed = row["message"].split(f"\n{LIKELY}")[0]
            line = prerequisite_line(roots or [n for n in failing if n in broken], failing)
            row["message"] = f"{line}\n{observed}"
