"""Passes learning_rate to the optimizer and also scales the gradients by it (relative to the
default 1e-3), so that the rate acts twice: the step moves by learning_rate**2 / 1e-3."""
import keras
import tensorflow as tf
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss
from tests.solutions import custom_train_step

MUST_FAIL = ("vae.learning_rate",)


class VAE(custom_train_step.VAE):
    def __init__(self, encoder, decoder, beta, learning_rate):
        super().__init__(encoder, decoder, beta)
        self.scale = learning_rate / 1e-3

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            reconstruction = self(x, training=True)
            loss = self.loss(y, reconstruction) + tf.add_n(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(
            (self.scale * gradient, variable)
            for gradient, variable in zip(gradients, self.trainable_variables))
        return {"loss": loss}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta, learning_rate)
    vae.compile(keras.optimizers.SGD(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
