"""The rubric: each graded item's id, points, title, and the steps that grade it.

An item names the export it grades (`keras_vae/graded/exports.py`, built in the submission's
process from a configuration only), makes its graded inputs from the grading seed (NumPy only),
runs the exported graphs on them (`run`, in the runner, a process that never imports the
submission) and judges the observations (`judge`, in the grading process). The rubric, its
points and the maximum live here and in `items/` (laid out like the reference: `layers/`,
`losses/` and `models/`, each holding a module per contract name it grades), nowhere else.
"""

import hashlib
import hmac
import numpy as np

# The seed of the public graded inputs (the student bundle, plain `pytest`). The autograder
# zip carries a secret seed of its own, so submissions cannot know its inputs in advance.
PUBLIC_SEED = 0


def _derived(seed, label):
    """An integer derived from the grading seed by HMAC-SHA256: one-way, so what the
    submission's process is told (its exports' configurations and seeds) reveals neither the
    seed nor the graded inputs."""
    digest = hmac.new(str(int(seed)).encode(), label.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big")


def item_rng(seed, item_id):
    """The random generator of one item's graded inputs; adding an item leaves the others
    unchanged."""
    return np.random.default_rng(_derived(seed, f"inputs:{item_id}"))


def config_rng(seed, export):
    """The random generator of one export's configuration."""
    return np.random.default_rng(_derived(seed, f"config:{export}"))


def export_seed(seed, export):
    """The global random seed set before `export` is built (its layers' initial weights)."""
    return _derived(seed, f"export:{export}") % 2**31


def rubric():
    """Every graded item, in the order they run: each contract name's items after those of the
    names it builds on (`kl.*` before `kl_layer.*`)."""
    from keras_vae.graded.items import losses, models
    from keras_vae.graded.items.layers import kl_layer, sampling

    return sampling.ITEMS + losses.ITEMS + kl_layer.ITEMS + models.ITEMS


def configs():
    """Each export's configuration maker: `rng -> dict`, told to the submission's process."""
    from keras_vae.graded.items import layers, losses, models

    return {**layers.CONFIGS, **losses.CONFIGS, **models.CONFIGS}


# Exports whose items run in a runner of their own. TensorFlow never frees a SavedModel it has
# loaded, so a runner's memory grows with every archive it loads: the fit item loads its export
# four times (fresh copies, so that no state carries from one measurement to the next) and
# trains it, and in a runner of its own it adds none of that to the others'.
OWN_RUNNER = frozenset({"fit"})


def runner_batch(items, pending):
    """The ids among `pending` that the next runner runs: those that share the runner group of
    the first (`OWN_RUNNER`), in order. `items` maps ids to items."""
    def group(item_id):
        export = items[item_id].export
        return export if export in OWN_RUNNER else None

    return [i for i in pending if group(i) == group(pending[0])]


def inputs(item, config, seed):
    """The graded inputs of `item`, its export's configuration included."""
    return dict(config, **item.make_inputs(item_rng(seed, item.id), config))


def max_score():
    return sum(item.points for item in rubric())


def rows(items, status="not run", message=""):
    """One verdict row per item: `id`, `points`, `title`, `status` and `message`."""
    return {item.id: {"id": item.id, "points": item.points, "title": item.title,
                      "status": status, "message": message} for item in items}
