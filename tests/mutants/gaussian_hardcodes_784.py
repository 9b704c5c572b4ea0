"""Writes D = 784 into the Gaussian normalizing constant instead of counting the pixels."""
import math

from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("gaussian.closed_form", "gaussian.sigma", "gaussian.image_shape", "gaussian.tfp")


def gaussian_nll(x, mean, sigma=1.0):
    squared_error = ops.sum(ops.reshape((x - mean) ** 2, (ops.shape(x)[0], -1)), axis=-1)
    return squared_error / (2 * sigma**2) + 784 * math.log(sigma) + 392 * math.log(2 * math.pi)
