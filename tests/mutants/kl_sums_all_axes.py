"""Sums the KL over every axis, batch included: one number instead of one per example."""
from keras import ops
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("kl.closed_form", "kl.zero_at_prior", "kl.per_example", "kl.tfp")


def kl_divergence(z_mean, z_log_var):
    return 0.5 * ops.sum(z_mean**2 + ops.exp(z_log_var) - z_log_var - 1)
