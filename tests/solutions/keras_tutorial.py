"""The Keras tutorial's VAE (keras.io/examples/generative/vae): a subclassed model with loss
trackers and its own `train_step` and `test_step`, which reconstruct the input and ignore the
targets (`x, _ = data`), right for `fit(x, x)`; it also has the `call` the contract asks for."""
import keras
import tensorflow as tf

from keras_vae import *  # noqa: F401,F403
from keras_vae import Sampling, kl_divergence
from keras_vae.reference.models import ReconstructionLoss


class VAE(keras.Model):
    def __init__(self, encoder, decoder, likelihood, sigma, beta, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.beta = encoder, decoder, beta
        self.sampling = Sampling()
        self.reconstruction = ReconstructionLoss(likelihood, sigma)
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x, training=None):
        z_mean, z_log_var = self.encoder(x)
        return self.decoder(self.sampling([z_mean, z_log_var]))

    def _negative_elbo(self, data):
        x, _ = data
        z_mean, z_log_var = self.encoder(x)
        reconstruction = self.decoder(self.sampling([z_mean, z_log_var]))
        reconstruction_loss = keras.ops.mean(self.reconstruction.call(x, reconstruction))
        kl_loss = keras.ops.mean(kl_divergence(z_mean, z_log_var))
        return reconstruction_loss + self.beta * kl_loss, reconstruction_loss, kl_loss

    def _report(self, total, reconstruction_loss, kl_loss):
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses = self._negative_elbo(data)
        grads = tape.gradient(losses[0], self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._report(*losses)

    def test_step(self, data):
        return self._report(*self._negative_elbo(data))


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, likelihood, sigma, beta)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae
