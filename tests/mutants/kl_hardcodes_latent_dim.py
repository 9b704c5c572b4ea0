"""Averages the KL over the latent axis and multiplies by a written-in latent_dim of 2."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("kl.closed_form", "kl.tfp")

LATENT_DIM = 2


def kl_divergence(z_mean, z_log_var):
    return LATENT_DIM * 0.5 * ops.mean(z_mean**2 + ops.exp(z_log_var) - z_log_var - 1, axis=-1)
