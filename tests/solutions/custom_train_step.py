"""A correct solution whose subclassed VAE writes its own train_step: the reconstruction loss
plus the losses its layers add (the KL of KLDivergenceLayer), with a Nadam optimizer."""
import keras
import tensorflow as tf

import keras_vae
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss


class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_layer = keras_vae.KLDivergenceLayer(beta)
        self.sampling = keras_vae.Sampling()

    def call(self, x, training=None):
        z_mean, z_log_var = self.kl_layer(self.encoder(x))
        return self.decoder(self.sampling([z_mean, z_log_var]))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            reconstruction = self(x, training=True)
            loss = self.loss(y, reconstruction) + tf.add_n(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta)
    vae.compile(keras.optimizers.Nadam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
