"""A subclassed VAE whose custom train_step minimizes the reconstruction only: it forgets the
KL that KLDivergenceLayer adds, while evaluate still reports the full loss (the correct
`tests/solutions/custom_train_step.py` with that one change)."""
import keras
import tensorflow as tf
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss
from tests.solutions import custom_train_step

MUST_FAIL = ("vae.kl_present",)


class VAE(custom_train_step.VAE):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            reconstruction = self(x, training=True)
            loss = self.loss(y, reconstruction)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Adam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
