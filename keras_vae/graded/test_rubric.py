"""Graded: every rubric item, run in this process on the public inputs.

Each test makes its item's inputs from the public seed, probes the implementation and judges
the observations exactly as `python -m keras_vae.grade` does, with the same feedback.
"""

import pytest

from keras_vae.graded import rubric
from keras_vae.graded.inprocess import run_item

ITEMS = {item.id: item for item in rubric.rubric()}


@pytest.mark.parametrize("item_id", [
    pytest.param(item.id, id=item.id,
                 marks=pytest.mark.graded(id=item.id, points=item.points, title=item.title))
    for item in ITEMS.values()])
def test_rubric_item(item_id, impl):
    message = run_item(ITEMS[item_id], impl)
    if message is not None:
        pytest.fail(message, pytrace=False)
