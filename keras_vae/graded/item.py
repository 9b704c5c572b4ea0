"""The type of one rubric item (`keras_vae/graded/items/` holds them all)."""

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Item:
    """One graded behaviour.

    Args:
        id: stable id, such as `"kl.closed_form"`.
        points: points earned when the judge accepts the observations.
        title: one sentence stating the behaviour.
        uses: contract names the item exercises, the name under test first.
        export: the name of the export in `exports.EXPORTS` whose graphs the item runs.
        make_inputs: `(rng, config) -> dict` of NumPy arrays and numbers, the graded inputs;
            the grader adds the export's configuration to them.
        run: `(graphs, inputs) -> dict` of observations, computed by the runner from the
            loaded graphs (`graphs.Graphs`).
        judge: `(inputs, observed) -> None`; raises `AssertionError` with feedback.
            `observed["facts"]` holds what the submission's process reported of its objects.
    """

    id: str
    points: int
    title: str
    uses: tuple
    export: str
    make_inputs: Callable
    run: Callable
    judge: Callable
