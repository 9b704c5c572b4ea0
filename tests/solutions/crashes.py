"""A submission whose reparameterize kills its own process."""
import os

from keras_vae import *  # noqa: F401,F403


def reparameterize(z_mean, z_log_var, epsilon):
    os._exit(3)
