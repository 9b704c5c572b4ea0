"""A submission whose kl_divergence never returns."""
import time

from keras_vae import *  # noqa: F401,F403


def kl_divergence(z_mean, z_log_var):
    while True:
        time.sleep(0.1)
