"""A subclassed VAE that samples z in training but decodes z_mean when training is false (the
correct `tests/solutions/custom_train_step.py` with that one change)."""
import keras
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss
from tests.solutions import custom_train_step

MUST_FAIL = ("vae.samples_z",)


class VAE(custom_train_step.VAE):
    def call(self, x, training=None):
        z_mean, z_log_var = self.kl_layer(self.encoder(x))
        z = self.sampling([z_mean, z_log_var]) if training else z_mean
        return self.decoder(z)

    def train_step(self, data):
        return keras.Model.train_step(self, data)  # Keras' own step, as the mutant had


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Adam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
