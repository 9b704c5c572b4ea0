"""Graded: every rubric item, run in this process on the public inputs.

Each test makes its item's inputs from the public seed, probes the implementation and judges
the observations exactly as `python -m keras_vae.grade` does, with the same feedback.
"""

import pytest

from keras_vae.graded import channel, rubric

ITEMS = {item.id: item for item in rubric.rubric()}


def _submission_files(impl):
    from keras_vae.graded.child import _submission_files

    return _submission_files(impl)


@pytest.mark.parametrize("item_id", [
    pytest.param(item.id, id=item.id,
                 marks=pytest.mark.graded(id=item.id, points=item.points, title=item.title))
    for item in ITEMS.values()])
def test_rubric_item(item_id, impl):
    import keras

    from keras_vae.grade import error_message
    from keras_vae.graded.child import describe

    item = ITEMS[item_id]
    inputs = channel.roundtrip(item.make_inputs(rubric.item_rng(rubric.PUBLIC_SEED, item_id)),
                               keep_dtype=True)
    keras.utils.set_random_seed(int(rubric.item_rng(rubric.PUBLIC_SEED + 1, item_id)
                                    .integers(2**31)))
    try:
        observed = channel.roundtrip(item.probe(impl, inputs))
    except Exception as error:  # the implementation's error is the verdict's message
        pytest.fail(error_message(describe(error, _submission_files(impl)), item.uses),
                    pytrace=False)
    item.judge(inputs, observed)
