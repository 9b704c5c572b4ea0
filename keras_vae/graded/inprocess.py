"""Runs one rubric item in this process: the quick path of plain `pytest` and of tests.

The observations take the same round trip through the channel's encoding as in the sandboxed
child, so a verdict here is the verdict `python -m keras_vae.grade` reaches on the same seed.
"""

from keras_vae.graded import channel, rubric


def run_item(item, impl, seed=rubric.PUBLIC_SEED):
    """Probes and judges `item` against the module `impl`.

    Returns:
        `None` when the item passes, else the feedback message.
    """
    import keras

    from keras_vae.grade import error_message
    from keras_vae.graded.child import describe, submission_files

    inputs = channel.roundtrip(item.make_inputs(rubric.item_rng(seed, item.id)), keep_dtype=True)
    keras.utils.set_random_seed(int(rubric.item_rng(seed + 1, item.id).integers(2**31)))
    try:
        observed = channel.roundtrip(item.probe(impl, inputs))
    except Exception as error:  # the implementation's error is the verdict's message
        return error_message(describe(error, submission_files(impl)))
    try:
        item.judge(inputs, observed)
    except AssertionError as failure:
        return str(failure)
    return None
