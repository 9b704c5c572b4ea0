"""Forgets the '- 1' in the KL divergence."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("kl.closed_form", "kl.zero_at_prior", "kl.tfp")


def kl_divergence(z_mean, z_log_var):
    return 0.5 * ops.sum(z_mean**2 + ops.exp(z_log_var) - z_log_var, axis=-1)
