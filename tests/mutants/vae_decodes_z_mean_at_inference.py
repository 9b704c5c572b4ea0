"""A subclassed VAE that samples z in training but decodes z_mean when training is false."""
import keras
from keras_vae import *  # noqa: F401,F403
import keras_vae
from keras_vae.reference.models import ReconstructionLoss

MUST_FAIL = ("vae.samples_z",)


class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_layer = keras_vae.KLDivergenceLayer(beta)
        self.sampling = keras_vae.Sampling()

    def call(self, x, training=None):
        z_mean, z_log_var = self.kl_layer(self.encoder(x))
        z = self.sampling([z_mean, z_log_var]) if training else z_mean
        return self.decoder(z)


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Adam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
