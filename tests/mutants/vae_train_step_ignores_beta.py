"""A subclassed VAE whose custom train_step adds the KL with weight 1 while evaluate weighs it
by beta (the correct `tests/solutions/custom_train_step.py` with that one change)."""
import keras
import tensorflow as tf
from keras_vae import *  # noqa: F401,F403
from keras_vae import kl_divergence
from keras_vae.reference.models import ReconstructionLoss
from tests.solutions import custom_train_step

MUST_FAIL = ("vae.beta",)


class VAE(custom_train_step.VAE):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(x)
            reconstruction = self.decoder(self.sampling([z_mean, z_log_var]))
            loss = (self.loss(y, reconstruction)
                    + keras.ops.mean(kl_divergence(z_mean, z_log_var)))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Nadam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
