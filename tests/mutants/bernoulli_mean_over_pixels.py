"""Averages the Bernoulli log-likelihood over every pixel instead of summing it."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("bernoulli.sum_over_pixels", "bernoulli.image_shape", "bernoulli.finite_at_bounds",
             "bernoulli.tfp")


def bernoulli_nll(x, probs):
    probs = ops.clip(probs, 1e-7, 1 - 1e-7)
    terms = x * ops.log(probs) + (1 - x) * ops.log(1 - probs)
    return -ops.mean(ops.reshape(terms, (ops.shape(x)[0], -1)), axis=-1)
