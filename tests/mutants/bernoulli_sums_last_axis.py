"""Sums the binary cross-entropy over the last axis only, not every non-batch axis."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("bernoulli.image_shape",)


def bernoulli_nll(x, probs):
    probs = ops.clip(probs, 1e-7, 1 - 1e-7)
    return -ops.sum(x * ops.log(probs) + (1 - x) * ops.log(1 - probs), axis=-1)
