"""Drops the normalizing constant D * log(sigma) + D / 2 * log(2 pi) of the Gaussian."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("gaussian.closed_form", "gaussian.sigma", "gaussian.image_shape", "gaussian.tfp")


def gaussian_nll(x, mean, sigma=1.0):
    return ops.sum(ops.reshape((x - mean) ** 2, (ops.shape(x)[0], -1)), axis=-1) / (2 * sigma**2)
