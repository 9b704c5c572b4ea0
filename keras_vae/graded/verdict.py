"""The verdict on one item: the runner's result for it, judged in the grading process."""

from keras_vae.graded import channel, feedback


def judge(item, inputs, result, facts):
    """`None` when `item` passes, else the feedback message.

    Args:
        inputs: the item's graded inputs.
        result: the runner's message for the item (`observed`, `failed` or `error`).
        facts: what the submission's process reported of its objects for the item's export.
    """
    result = result if isinstance(result, dict) else {}
    if "error" in result:
        return feedback.run_error(result["error"])
    if "failed" in result:
        return str(result["failed"])[:4000]
    try:
        observed = channel.from_data(result.get("observed"))
        item.judge(inputs, dict(observed, facts=facts if isinstance(facts, dict) else {}))
    except AssertionError as failure:
        return str(failure)
    except Exception as failure:  # observations no honest graph produces
        return f"the observations were malformed ({type(failure).__name__}: {failure})"
    return None
