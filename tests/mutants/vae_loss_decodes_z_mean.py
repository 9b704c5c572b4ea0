"""A subclassed VAE whose `call` samples z, but whose own train_step and test_step compute
the loss at z_mean: nll(y, decoder(z_mean)) + beta * KL, no sampling in the loss."""
import keras
import tensorflow as tf
from keras_vae import *  # noqa: F401,F403
from keras_vae import kl_divergence
from keras_vae.reference.models import ReconstructionLoss
from tests.solutions import custom_train_step

MUST_FAIL = ("vae.samples_z",)


class VAE(custom_train_step.VAE):
    def __init__(self, encoder, decoder, beta, **kwargs):
        super().__init__(encoder, decoder, beta, **kwargs)
        self.beta = beta

    def _loss(self, data):
        x, y = data
        z_mean, z_log_var = self.encoder(x)
        return (self.loss(y, self.decoder(z_mean))
                + self.beta * keras.ops.mean(kl_divergence(z_mean, z_log_var)))

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._loss(data)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}

    def test_step(self, data):
        return {"loss": self._loss(data)}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Adam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
