"""The keras.io VAE example's style: a `keras.Model` subclass with `train_step` and no `call`.

Everything else is the reference. `vae(x)` raises Keras' own NotImplementedError, which the
grader must report as Keras' error, not as an unfinished stub.
"""

import keras

from keras_vae import *  # noqa: F401,F403
from keras_vae import Sampling, kl_divergence
from keras_vae.reference.models import ReconstructionLoss


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = Sampling()
        self.reconstruction = ReconstructionLoss()

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        import tensorflow as tf

        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(x)
            reconstruction = self.decoder(self.sampling([z_mean, z_log_var]))
            loss = (keras.ops.mean(self.reconstruction.call(x, reconstruction))
                    + keras.ops.mean(kl_divergence(z_mean, z_log_var)))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return {"loss": loss}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae
