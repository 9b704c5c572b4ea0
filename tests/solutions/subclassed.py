"""A correct solution written with subclassed keras.Model classes, tuples and keras.ops.

The encoder returns a tuple, the VAE is a `keras.Model` subclass with its own `call`, the KL
layer keeps `beta` as a float, and the Gaussian decoder squashes its means into [0, 1] with a
sigmoid, which the data's range allows.
"""

import math

import keras
from keras import ops


def reparameterize(z_mean, z_log_var, epsilon):
    return z_mean + ops.sqrt(ops.exp(z_log_var)) * epsilon


@keras.saving.register_keras_serializable(package="subclassed")
class Sampling(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        noise = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return reparameterize(z_mean, z_log_var, noise)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(z_mean, z_log_var):
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1)


def _per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def bernoulli_nll(x, probs):
    probs = ops.clip(probs, 1e-7, 1.0 - 1e-7)
    x = ops.cast(x, probs.dtype)
    return -_per_example(x * ops.log(probs) + (1.0 - x) * ops.log(1.0 - probs))


def gaussian_nll(x, mean, sigma=1.0):
    x = ops.cast(x, mean.dtype)
    pixels = math.prod(mean.shape[1:])
    return (_per_example(ops.square(x - mean)) / (2.0 * sigma * sigma)
            + pixels * (math.log(sigma) + 0.5 * math.log(2.0 * math.pi)))


@keras.saving.register_keras_serializable(package="subclassed")
class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(self.beta * ops.mean(kl_divergence(z_mean, z_log_var)))
        return (z_mean, z_log_var)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="subclassed")
class Encoder(keras.Model):
    def __init__(self, latent_dim, hidden_units=(512,), **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.hidden_units = latent_dim, tuple(hidden_units)
        self.flatten = keras.layers.Flatten()
        self.hidden = [keras.layers.Dense(units, activation="elu") for units in hidden_units]
        self.mean_head = keras.layers.Dense(latent_dim)
        self.log_var_head = keras.layers.Dense(latent_dim)

    def call(self, x):
        h = self.flatten(x)
        for layer in self.hidden:
            h = layer(h)
        return (self.mean_head(h), self.log_var_head(h))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "hidden_units": self.hidden_units}


@keras.saving.register_keras_serializable(package="subclassed")
class Decoder(keras.Model):
    def __init__(self, output_shape, hidden_units=(512,), likelihood="bernoulli", **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.hidden_units = tuple(output_shape), tuple(hidden_units)
        self.likelihood = likelihood
        self.hidden = [keras.layers.Dense(units, activation="elu") for units in hidden_units]
        # Both likelihoods squash: Bernoulli probabilities, and Gaussian means in the data range.
        self.out = keras.layers.Dense(math.prod(self.image_shape), activation="sigmoid")

    def call(self, z):
        h = z
        for layer in self.hidden:
            h = layer(h)
        return ops.reshape(self.out(h), (-1,) + self.image_shape)

    def get_config(self):
        return {**super().get_config(), "output_shape": self.image_shape,
                "hidden_units": self.hidden_units, "likelihood": self.likelihood}


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    encoder = Encoder(latent_dim, hidden_units, name="encoder")
    encoder(ops.zeros((1,) + tuple(input_shape)))  # creates the weights
    return encoder


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    decoder = Decoder(output_shape, hidden_units, likelihood, name="decoder")
    decoder(ops.zeros((1, latent_dim)))  # creates the weights
    return decoder


@keras.saving.register_keras_serializable(package="subclassed")
class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_layer = KLDivergenceLayer(beta)
        self.sampling = Sampling()

    def call(self, x):
        z_mean, z_log_var = self.kl_layer(self.encoder(x))
        return self.decoder(self.sampling((z_mean, z_log_var)))


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = VAE(encoder, decoder, beta, name="vae")

    def reconstruction_loss(x, reconstruction):
        if likelihood == "bernoulli":
            return bernoulli_nll(x, reconstruction)
        return gaussian_nll(x, reconstruction, sigma)

    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                loss=reconstruction_loss)
    return vae
