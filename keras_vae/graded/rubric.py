"""The rubric: each graded item's id, points, title, and the three steps that grade it.

An item makes its inputs from the grading seed (NumPy only), probes the submission with them
(`probe` runs beside the submission's code, in the sandboxed child process) and judges the
observations (`judge` runs in the grading process, which never imports the submission). The
rubric, its points and the maximum live here and nowhere else.
"""

import dataclasses
import zlib
from typing import Callable

import numpy as np

# The seed of the public graded inputs (the student bundle, plain `pytest`). The autograder
# zip carries a secret seed of its own, so submissions cannot know its inputs in advance.
PUBLIC_SEED = 0


@dataclasses.dataclass(frozen=True)
class Item:
    """One graded behaviour.

    Args:
        id: stable id, such as `"kl.closed_form"`.
        points: points earned when the judge accepts the observations.
        title: one sentence stating the behaviour.
        uses: contract names the item exercises, the name under test first.
        make_inputs: `rng -> dict` of NumPy arrays and numbers.
        probe: `(impl, inputs) -> dict` of observations, computed with the submission.
        judge: `(inputs, observations) -> None`; raises `AssertionError` with feedback.
    """

    id: str
    points: int
    title: str
    uses: tuple
    make_inputs: Callable
    probe: Callable
    judge: Callable


def item_rng(seed, item_id):
    """The random generator of one item's inputs; adding an item leaves the others unchanged."""
    return np.random.default_rng([int(seed), zlib.crc32(item_id.encode())])


def rubric():
    """Every graded item, in the order they run."""
    from keras_vae.graded import loss_items, model_items, sampling_items

    return sampling_items.ITEMS + loss_items.ITEMS + model_items.ITEMS


def max_score():
    return sum(item.points for item in rubric())
