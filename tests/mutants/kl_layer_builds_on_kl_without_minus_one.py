"""Forgets the '- 1' in kl_divergence, which its own KLDivergenceLayer adds as the loss."""
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("kl.closed_form", "kl.zero_at_prior", "kl.tfp", "kl_layer.identity",
             "kl_layer.adds_batch_mean", "kl_layer.beta")


def kl_divergence(z_mean, z_log_var):
    return 0.5 * ops.sum(z_mean**2 + ops.exp(z_log_var) - z_log_var, axis=-1)


class KLDivergenceLayer(keras_vae.KLDivergenceLayer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(ops.cast(self.beta, 'float32') * ops.mean(kl_divergence(z_mean, z_log_var)))
        return z_mean, z_log_var
