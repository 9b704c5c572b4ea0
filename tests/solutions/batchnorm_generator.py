"""A complete solution whose networks carry BatchNormalization and Dropout, and whose
`Sampling` draws from a `tf.random.Generator`, seeded only when given a seed: correct styles
that must score full marks.

BatchNormalization's moving mean and variance are variables no gradient reaches; an unseeded
generator draws other noise in every VAE built, whatever the global seed. Otherwise as
`alternative.py`: raw TensorFlow and TensorFlow Probability, a plain loss function in compile,
with Adam.
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def reparameterize(z_mean, z_log_var, epsilon):
    return z_mean + tf.sqrt(tf.exp(z_log_var)) * epsilon


class Sampling(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = (tf.random.Generator.from_seed(seed) if seed is not None
                          else tf.random.Generator.from_non_deterministic_state())

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = self.generator.normal(tf.shape(z_mean))
        return reparameterize(z_mean, z_log_var, epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(seed=self.seed)
        return config


def kl_divergence(z_mean, z_log_var):
    q = tfd.Normal(z_mean, tf.exp(0.5 * z_log_var))
    return tf.reduce_sum(tfd.kl_divergence(q, tfd.Normal(0.0, 1.0)), axis=-1)


def _flat(t):
    return tf.reshape(t, (tf.shape(t)[0], -1))


def bernoulli_nll(x, probs):
    probs = tf.clip_by_value(_flat(probs), 1e-6, 1 - 1e-6)
    logits = tf.math.log(probs) - tf.math.log1p(-probs)
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
        tf.cast(_flat(x), probs.dtype), logits), axis=1)


def gaussian_nll(x, mean, sigma=1.0):
    mean = _flat(mean)
    return -tf.reduce_sum(tfd.Normal(mean, sigma).log_prob(tf.cast(_flat(x), mean.dtype)), axis=1)


class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, inputs):
        self.add_loss(self.beta * tf.reduce_mean(kl_divergence(*inputs)))
        return inputs

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    x = keras.Input(input_shape)
    h = keras.layers.Flatten()(x)
    for units in hidden_units:
        h = keras.layers.Dense(units)(h)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("relu")(h)
        h = keras.layers.Dropout(0.1)(h)
    return keras.Model(x, [keras.layers.Dense(latent_dim)(h), keras.layers.Dense(latent_dim)(h)])


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    z = keras.Input((latent_dim,))
    h = z
    for units in hidden_units:
        h = keras.layers.Dense(units)(h)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("relu")(h)
        h = keras.layers.Dropout(0.1)(h)
    size = 1
    for dim in output_shape:
        size *= dim
    h = keras.layers.Dense(size)(h)
    if likelihood == "bernoulli":
        h = keras.layers.Activation("sigmoid")(h)
    return keras.Model(z, keras.layers.Reshape(output_shape)(h))


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    x = keras.Input(encoder.inputs[0].shape[1:])
    z_mean, z_log_var = KLDivergenceLayer(beta)(encoder(x))
    vae = keras.Model(x, decoder(Sampling()([z_mean, z_log_var])))
    vae.encoder, vae.decoder = encoder, decoder

    def reconstruction_loss(y_true, y_pred):
        if likelihood == "bernoulli":
            return bernoulli_nll(y_true, y_pred)
        return gaussian_nll(y_true, y_pred, sigma)

    vae.compile(keras.optimizers.Adam(learning_rate), loss=reconstruction_loss)
    return vae
