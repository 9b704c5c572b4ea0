"""The two layers that make an autoencoder variational: sampling and the KL penalty."""

import keras
from keras import ops

from keras_vae import checks
# The module, not its names: this module may run while Keras is first imported from inside
# a sibling still half-imported (see keras_vae/__init__.py).
from keras_vae.reference import losses


def reparameterize(z_mean, z_log_var, epsilon):
    """Turns standard normal noise into a sample of the approximate posterior.

    The reparameterization trick (Kingma & Welling 2013, section 2.4):

        z = z_mean + exp(0.5 * z_log_var) * epsilon

    so that `z ~ N(z_mean, diag(exp(z_log_var)))` when `epsilon ~ N(0, I)`, and gradients flow
    to `z_mean` and `z_log_var` through a deterministic function.

    Args:
        z_mean: tensor of shape `(batch_size, latent_dim)`.
        z_log_var: tensor of shape `(batch_size, latent_dim)`, the log-variance `log(sigma**2)`.
        epsilon: tensor of shape `(batch_size, latent_dim)`, standard normal noise.

    Returns:
        Tensor `z` of shape `(batch_size, latent_dim)`.
    """
    return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def _replica_id():
    """The replica id inside a `tf.distribute` strategy with several replicas, else `None`."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context.replica_id_in_sync_group


def _replica_normal(shape, dtype, seed, replica_id):
    """Standard normal noise from `seed` (shape `(2,)`) with `replica_id` folded in."""
    import tensorflow as tf

    # Keras keeps the generator's state in int64; TensorFlow's stateless ops take int32 seeds.
    seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
    seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica_id, tf.int32))
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_vae")
class Sampling(keras.layers.Layer):
    """Draws `z ~ N(z_mean, diag(exp(z_log_var)))` with the reparameterization trick.

    Fresh noise `epsilon ~ N(0, I)` is drawn on every call, in training and inference alike,
    from the layer's own `keras.random.SeedGenerator`. Two layers made with the same integer
    `seed` draw the same noise call for call, layers with different seeds draw different
    noise, and `Sampling.from_config(layer.get_config())` draws what `layer` draws. Gradients
    reach both inputs: `dz / dz_mean = 1` and `dz / dz_log_var = 0.5 * (z - z_mean)`.

    Under a `tf.distribute` strategy with several replicas, every replica starts from the
    same generator state; each folds its replica id into the drawn seed
    (`tf.random.experimental.stateless_fold_in`), so the replicas' noise is independent and a
    seeded run is still reproducible. With one replica the draw is `keras.random.normal`'s.

    Args:
        seed: integer or `None`, the seed of the layer's random stream.

    Call arguments:
        inputs: list `[z_mean, z_log_var]`, each of shape `(batch_size, latent_dim)`.

    Returns:
        Tensor `z` of shape `(batch_size, latent_dim)`.

    Example:
        >>> z = Sampling(seed=0)([ops.zeros((2, 3)), ops.zeros((2, 3))])
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        replica_id = _replica_id()
        if replica_id is None:
            epsilon = keras.random.normal(
                ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
            )
        else:
            epsilon = _replica_normal(ops.shape(z_mean), z_mean.dtype,
                                      self.seed_generator.next(), replica_id)
        return reparameterize(z_mean, z_log_var, epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_vae")
class KLDivergenceLayer(keras.layers.Layer):
    """Identity layer that adds the KL term of the negative ELBO with `add_loss`.

    Adds `beta * mean(kl_divergence(z_mean, z_log_var))`: the batch mean, so that the added
    loss does not grow with the batch size (Keras 3 sums the entries of a non-scalar added
    loss). With `beta > 0` the added loss is 0 where `z_mean` and `z_log_var` are all 0 (q
    equals the prior) and positive elsewhere. Also reports the unweighted mean KL as the
    metric `kl_loss`.

    `beta` lives in a non-trainable variable, so a callback can anneal it during training.
    Under a mixed precision policy `kl_divergence` computes in float32, so the added loss is
    float32, as Keras expects.

    Args:
        beta: non-negative float, the weight of the KL term (1 gives the ELBO).

    Call arguments:
        inputs: list `[z_mean, z_log_var]`, each of shape `(batch_size, latent_dim)`.

    Returns:
        The inputs, unchanged.
    """

    def __init__(self, beta=1.0, **kwargs):
        # float32 even under mixed precision: inside a float16 layer's call, Keras reads float32
        # variables as float16, and the kl_loss metric's running sum passes float16's largest
        # number (65,504) after a few thousand examples.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.initial_beta = checks.non_negative_float("beta", beta)
        self.beta = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_beta),
            trainable=False,
            name="beta",
        )
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def call(self, inputs):
        z_mean, z_log_var = inputs
        kl = losses.kl_divergence(z_mean, z_log_var)
        self.add_loss(ops.cast(self.beta, kl.dtype) * ops.mean(kl))
        self.kl_tracker.update_state(kl)
        return [z_mean, z_log_var]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "beta": self.initial_beta}
