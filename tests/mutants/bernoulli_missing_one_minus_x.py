"""Drops the (1 - x) * log(1 - probs) term."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("bernoulli.sum_over_pixels", "bernoulli.image_shape", "bernoulli.tfp")


def bernoulli_nll(x, probs):
    probs = ops.clip(probs, 1e-7, 1 - 1e-7)
    return -ops.sum(ops.reshape(x * ops.log(probs), (ops.shape(x)[0], -1)), axis=-1)
