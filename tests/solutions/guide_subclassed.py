"""A correct solution written as the Keras 3 guide writes a subclassed model: subclassed encoder
and decoder models, a VAE whose `train_step` and `test_step` call `compute_loss` and return
`{m.name: m.result() for m in self.metrics}` (with metrics compiled, one of those results is
itself a dict of the compiled metrics, which `fit` flattens), losses computed in float64,
RMSprop. It must score full marks."""
import math

import keras
import tensorflow as tf
from keras import ops


def reparameterize(z_mean, z_log_var, epsilon):
    sigma = ops.exp(ops.multiply(z_log_var, 0.5))
    return z_mean + sigma * epsilon


@keras.saving.register_keras_serializable(package="assignments")
class Sampling(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return reparameterize(z_mean, z_log_var, epsilon)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


def kl_divergence(z_mean, z_log_var):
    m = tf.cast(z_mean, tf.float64)
    lv = tf.cast(z_log_var, tf.float64)
    return 0.5 * tf.reduce_sum(tf.square(m) + tf.exp(lv) - lv - 1.0, axis=-1)


def bernoulli_nll(x, probs):
    x = tf.cast(x, tf.float64)
    p = tf.clip_by_value(tf.cast(probs, tf.float64), 1e-7, 1.0 - 1e-7)
    ll = tf.math.xlogy(x, p) + tf.math.xlogy(1.0 - x, 1.0 - p)
    return -tf.reduce_sum(tf.reshape(ll, [tf.shape(ll)[0], -1]), axis=1)


def gaussian_nll(x, mean, sigma=1.0):
    x = tf.cast(x, tf.float64)
    mean = tf.cast(mean, tf.float64)
    axes = list(range(1, x.shape.rank))
    d = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float64)
    sq = tf.reduce_sum(tf.math.squared_difference(x, mean), axis=axes)
    return sq / (2.0 * sigma**2) + d * math.log(sigma) + d * 0.5 * math.log(2.0 * math.pi)


@keras.saving.register_keras_serializable(package="assignments")
class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(tf.cast(self.beta * tf.reduce_mean(kl_divergence(z_mean, z_log_var)),
                              z_mean.dtype))
        return inputs

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


class Encoder(keras.Model):
    def __init__(self, input_shape, latent_dim, hidden_units=(512,), **kwargs):
        super().__init__(name="encoder", **kwargs)
        self.flatten = keras.layers.Flatten()
        self.hidden = [keras.layers.Dense(u, activation="relu") for u in hidden_units]
        self.mean_head = keras.layers.Dense(latent_dim)
        self.log_var_head = keras.layers.Dense(latent_dim)
        self.build((None,) + tuple(input_shape))

    def build(self, input_shape):
        shape = self.flatten.compute_output_shape(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.mean_head.build(shape)
        self.log_var_head.build(shape)
        self.built = True

    def call(self, x):
        h = self.flatten(x)
        for layer in self.hidden:
            h = layer(h)
        return [self.mean_head(h), self.log_var_head(h)]


class Decoder(keras.Model):
    def __init__(self, latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli",
                 **kwargs):
        super().__init__(name="decoder", **kwargs)
        self.target_shape = tuple(output_shape)
        self.hidden = [keras.layers.Dense(u, activation="tanh") for u in hidden_units]
        self.out = keras.layers.Dense(math.prod(output_shape),
                                      activation="sigmoid" if likelihood == "bernoulli" else None)
        self.build((None, latent_dim))

    def build(self, input_shape):
        shape = input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.out.build(shape)
        self.built = True

    def call(self, z):
        h = z
        for layer in self.hidden:
            h = layer(h)
        h = self.out(h)
        return ops.reshape(h, (-1,) + self.target_shape)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    return Encoder(input_shape, latent_dim, hidden_units)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    return Decoder(latent_dim, output_shape, hidden_units, likelihood)


class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.kl = KLDivergenceLayer(beta=beta)
        self.sampler = Sampling()

    def call(self, x, training=False):
        z_mean, z_log_var = self.encoder(x)
        z_mean, z_log_var = self.kl([z_mean, z_log_var])
        return self.decoder(self.sampler([z_mean, z_log_var]))

    def _update(self, loss, y, y_pred):
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self._update(loss, y, y_pred)

    def test_step(self, data):
        x, y = data[0], data[1]
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        return self._update(loss, y, y_pred)


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    if likelihood == "bernoulli":
        def nll(x, probs):
            return tf.cast(bernoulli_nll(x, probs), tf.float32)
    else:
        def nll(x, mean):
            return tf.cast(gaussian_nll(x, mean, sigma), tf.float32)
    vae = VAE(encoder, decoder, beta=beta, name="vae")
    vae.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss=nll,
                metrics=["mse", keras.metrics.MeanAbsoluteError()])
    return vae
