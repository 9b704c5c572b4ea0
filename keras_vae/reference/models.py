"""Encoder, decoder and the variational autoencoder that joins them."""

import math

import keras
import numpy as np

from keras_vae import checks
# The module, not its names: this module may run while Keras is first imported from inside
# a sibling still half-imported (see keras_vae/__init__.py).
from keras_vae.reference import layers, losses


def _float32_under_mixed_precision():
    """`"float32"` under a mixed precision policy (float16 or bfloat16 compute), else `None`.

    Given as a layer's `dtype`, it keeps that layer in float32 beside float16 ones, and leaves
    the models of a float32 (or float64) policy exactly as they were.
    """
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def build_encoder(
    input_shape, latent_dim, hidden_units=(512,), architecture="mlp", activation="relu"
):
    """Builds the inference network `x -> [z_mean, z_log_var]` of `q(z|x)`.

    With `architecture="mlp"` its weights are those of the hidden layers and of the two heads
    on the last of them, and each takes part in the outputs.

    Under a mixed precision policy the two heads compute in float32 (`exp(z_log_var)` overflows
    float16).

    Args:
        input_shape: tuple, the shape of one example, such as `(784,)` or `(28, 28, 1)`.
        latent_dim: positive integer, the number of latent dimensions.
        hidden_units: sequence of positive integers, the sizes of the dense hidden layers
            (applied in this order from `x`).
        architecture: `"mlp"` (dense layers) or `"conv"` (two strided convolutions before the
            dense layers; needs `(height, width, channels)` with sides divisible by 4).
        activation: activation of the hidden layers.

    Returns:
        `keras.Model` named `"encoder"` (functional or subclassed) with outputs
        `[z_mean, z_log_var]` (a list or a tuple), each of shape `(batch_size, latent_dim)`. Both
        heads are linear: a log-variance takes any sign, and neither is bounded.

    Raises:
        ValueError: for an invalid argument.
    """
    latent_dim = checks.positive_int("latent_dim", latent_dim)
    hidden_units = checks.hidden_units(hidden_units)
    architecture = checks.choice("architecture", architecture, checks.ARCHITECTURES)
    if architecture == "conv":
        input_shape = checks.conv_shape("input_shape", input_shape)
    else:
        input_shape = checks.shape("input_shape", input_shape)

    x = inputs = keras.Input(shape=input_shape, name="x")
    if architecture == "conv":
        x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation=activation)(x)
        x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation=activation)(x)
    x = keras.layers.Flatten()(x)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=activation)(x)
    head_dtype = _float32_under_mixed_precision()
    z_mean = keras.layers.Dense(latent_dim, name="z_mean", dtype=head_dtype)(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var", dtype=head_dtype)(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_decoder(
    latent_dim,
    output_shape,
    hidden_units=(512,),
    likelihood="bernoulli",
    architecture="mlp",
    activation="relu",
):
    """Builds the generative network mapping `z` to the parameters of `p(x|z)`.

    With `architecture="mlp"` its weights are those of the hidden layers and of the output
    layer on the last of them, and each takes part in the output.

    Under a mixed precision policy the last layer computes its pre-activations in float16 and a
    separate float32 activation follows, so the probabilities or means come out in float32.

    Args:
        latent_dim: positive integer, the number of latent dimensions.
        output_shape: tuple, the shape of one example, such as `(784,)` or `(28, 28, 1)`.
        hidden_units: sequence of positive integers, the sizes of the dense hidden layers
            (applied in this order from `z`).
        likelihood: `"bernoulli"` (sigmoid outputs: probabilities in [0, 1] that come near
            both 0 and 1 as the weights are scaled up) or `"gaussian"` (the means: linear
            outputs, or squashed into the data's range).
        architecture: `"mlp"` or `"conv"` (dense layers, then two strided transposed
            convolutions back to `output_shape`).
        activation: activation of the hidden layers.

    Returns:
        `keras.Model` named `"decoder"` (functional or subclassed) mapping
        `(batch_size, latent_dim)` to `(batch_size,) + output_shape`.

    Raises:
        ValueError: for an invalid argument.
    """
    latent_dim = checks.positive_int("latent_dim", latent_dim)
    hidden_units = checks.hidden_units(hidden_units)
    likelihood = checks.choice("likelihood", likelihood, checks.LIKELIHOODS)
    architecture = checks.choice("architecture", architecture, checks.ARCHITECTURES)
    if architecture == "conv":
        output_shape = checks.conv_shape("output_shape", output_shape)
    else:
        output_shape = checks.shape("output_shape", output_shape)
    output_activation = "sigmoid" if likelihood == "bernoulli" else None
    output_dtype = _float32_under_mixed_precision()

    x = inputs = keras.Input(shape=(latent_dim,), name="z")
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=activation)(x)
    if architecture == "conv":
        height, width, channels = output_shape
        feature_shape = (height // 4, width // 4, 64)
        x = keras.layers.Dense(math.prod(feature_shape), activation=activation)(x)
        x = keras.layers.Reshape(feature_shape)(x)
        x = keras.layers.Conv2DTranspose(
            64, 3, strides=2, padding="same", activation=activation
        )(x)
        x = keras.layers.Conv2DTranspose(
            32, 3, strides=2, padding="same", activation=activation
        )(x)
        if output_dtype is None:
            outputs = keras.layers.Conv2DTranspose(
                channels, 3, padding="same", activation=output_activation, name="reconstruction"
            )(x)
        else:
            x = keras.layers.Conv2DTranspose(channels, 3, padding="same")(x)
            outputs = keras.layers.Activation(
                output_activation or "linear", dtype=output_dtype, name="reconstruction"
            )(x)
    else:
        if output_dtype is None:
            x = keras.layers.Dense(math.prod(output_shape), activation=output_activation)(x)
        else:
            x = keras.layers.Dense(math.prod(output_shape))(x)
            x = keras.layers.Activation(output_activation or "linear", dtype=output_dtype)(x)
        outputs = keras.layers.Reshape(output_shape, name="reconstruction", dtype=output_dtype)(x)
    return keras.Model(inputs, outputs, name="decoder")


def _negative_log_likelihood(x, reconstruction, likelihood, sigma):
    if likelihood == "bernoulli":
        return losses.bernoulli_nll(x, reconstruction)
    return losses.gaussian_nll(x, reconstruction, sigma)


@keras.saving.register_keras_serializable(package="keras_vae")
class ReconstructionLoss(keras.losses.Loss):
    """`-log p(x|z)` per example for the chosen likelihood, for `compile(loss=...)`.

    Args:
        likelihood: `"bernoulli"` or `"gaussian"`.
        sigma: positive float, the Gaussian standard deviation (ignored for Bernoulli).
    """

    def __init__(self, likelihood="bernoulli", sigma=1.0, name="reconstruction_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.likelihood = checks.choice("likelihood", likelihood, checks.LIKELIHOODS)
        self.sigma = checks.positive_float("sigma", sigma)

    def call(self, y_true, y_pred):
        return _negative_log_likelihood(y_true, y_pred, self.likelihood, self.sigma)

    def get_config(self):
        return {**super().get_config(), "likelihood": self.likelihood, "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="keras_vae")
class ReconstructionLossMetric(keras.metrics.Mean):
    """Reports the mean of `-log p(x|z)` as `reconstruction_loss` in `fit` and `evaluate`."""

    def __init__(self, likelihood="bernoulli", sigma=1.0, name="reconstruction_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.likelihood = likelihood
        self.sigma = sigma

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll = _negative_log_likelihood(y_true, y_pred, self.likelihood, self.sigma)
        super().update_state(nll, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "likelihood": self.likelihood, "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(keras.Model):
    """The functional model `build_vae` returns, whose `fit` and `evaluate` check the data.

    For the Bernoulli likelihood (a compiled `ReconstructionLoss("bernoulli")`) they refuse
    arrays with values outside [0, 1], such as raw `uint8` pixels, whose loss otherwise runs to
    NaN without a word. The check is one pass over the arrays per call, before Keras copies them
    into its own pipeline, and nothing per training step. A `tf.data.Dataset` is refused where
    its element spec has an integer dtype; its values, and generators, are not checked
    (`keras_vae.data.make_dataset` checks what it batches).

    Their progress bar stops at the epoch's last step (`_ProgbarLogger`).

    It adds no `__init__` or `get_config`, so Keras builds, saves and loads it as a Functional
    model: `.keras` files name the class `keras_vae>VAE`, which `import keras_vae` registers.
    """

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        self._check_pixels(x=x, y=y)
        if isinstance(validation_data, (tuple, list)):
            self._check_pixels(validation_data=validation_data[:2])
        elif validation_data is not None:
            self._check_pixels(validation_data=(validation_data,))
        _with_progbar(kwargs)
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_pixels(x=x, y=y)
        _with_progbar(kwargs)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_pixels(self, **named):
        """Raises `ValueError` naming the argument whose array leaves [0, 1] under Bernoulli,
        or whose `tf.data.Dataset` yields integers (its element spec is read, no element)."""
        if getattr(getattr(self, "loss", None), "likelihood", None) != "bernoulli":
            return
        checked = []
        for name, value in named.items():
            for array in value if name == "validation_data" else (value,):
                if array is None or any(array is seen for seen in checked):
                    continue  # `fit(x, x)` reads its array once.
                checked.append(array)
                if hasattr(array, "element_spec"):
                    _check_spec(name, array.element_spec)
                    continue
                if keras.ops.is_tensor(array) and 0 not in tuple(array.shape):
                    # Reduced where it lives: only two values move.
                    array = keras.ops.convert_to_numpy(
                        keras.ops.stack([keras.ops.min(array), keras.ops.max(array)]))
                if isinstance(array, np.ndarray):
                    checks.pixel_range(name, array, "bernoulli")


class _ProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, stopped at the epoch's last step.

    Keras 3.15 reports each compiled call of `steps_per_execution` steps as ending that many
    steps on, also the epoch's last call, which ends sooner: 40 steps in calls of 32 showed
    `64/40` and a negative time left (keras-team/keras#20861).

    It is `async_safe`, as Keras holds its own progress bar: a callback given without it
    would make Keras wait for every compiled call before starting the next.
    """

    async_safe = True

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(min(batch, (self.target or batch + 1) - 1), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(min(batch, (self.target or batch + 1) - 1), logs)


def _with_progbar(kwargs):
    """Adds `_ProgbarLogger` to the callbacks of `fit` or `evaluate`, where Keras would add its
    own (`verbose` 1 or "auto") and none is given."""
    if isinstance(kwargs.get("callbacks"), keras.callbacks.CallbackList):
        return  # Keras adds no progress bar to a list it is given whole.
    callbacks = list(kwargs.get("callbacks") or [])
    if kwargs.get("verbose", "auto") in (1, "auto") and not any(
            isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks):
        kwargs["callbacks"] = callbacks + [_ProgbarLogger()]


def _check_spec(name, element_spec):
    """Refuses a dataset of integers for the Bernoulli likelihood: raw uint8 pixels (0 to 255)
    train to a NaN loss. Its values are not read, so every step stays as fast."""
    for spec in keras.tree.flatten(element_spec):
        dtype = getattr(spec, "dtype", None)
        if dtype is not None and dtype.is_integer:
            raise checks.invalid(name, "pixel values in [0, 1] for likelihood='bernoulli'",
                                 spec, f"raw {dtype.name} pixels: map them to float32 and "
                                 "divide by 255")


def _replicas_in_scope():
    """The number of replicas of the `tf.distribute` strategy in scope (1 without one)."""
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _xla_helps(encoder, decoder):
    """XLA speeds up dense models everywhere, but slows convolutions down on CPU.

    Keras 3 compiles `strategy.run` with the all-reduce of the gradients inside one XLA
    cluster, which refuses the replicas' variables on other devices ("tf.Variable on a
    different device"), so XLA stays off under a strategy with several replicas.
    """
    import tensorflow as tf

    if _replicas_in_scope() > 1:
        return False
    convolutional = any(isinstance(layer, keras.layers.Conv2D)
                        for model in (encoder, decoder) for layer in model.layers)
    return not convolutional or bool(tf.config.list_physical_devices("GPU"))


def build_vae(
    encoder,
    decoder,
    likelihood="bernoulli",
    sigma=1.0,
    beta=1.0,
    learning_rate=1e-3,
    seed=None,
    jit_compile="auto",
    steps_per_execution="auto",
):
    """Joins an encoder and a decoder into a compiled variational autoencoder.

    `vae(x)` encodes `x`, adds the KL term with `KLDivergenceLayer`, samples `z` with
    `Sampling` and returns the decoder's reconstruction. `vae.fit(x, x)` minimizes the
    negative ELBO per example, averaged over the batch, and `vae.evaluate(x, x)` reports it as
    `loss`:

        loss = mean(nll(x, reconstruction)) + beta * mean(kl_divergence(z_mean, z_log_var))

    where `nll` is `bernoulli_nll` for `likelihood="bernoulli"` and `gaussian_nll` with `sigma`
    for `likelihood="gaussian"`, with the reconstruction term from
    `compile(loss=ReconstructionLoss(...))`. The VAE's trainable weights are exactly the
    encoder's and the decoder's: it adds none. `fit` and `evaluate` also report
    `reconstruction_loss` and `kl_loss`, like `loss` in nats per example. For
    `likelihood="bernoulli"` they refuse arrays outside [0, 1], such as raw `uint8` pixels,
    with a `ValueError` (the model is a `VAE`).

    Build the encoder, the decoder and the VAE inside `strategy.scope()` to train on several
    devices (`keras_vae.training.distribute`); the batch size given to `fit` is then the global one.

    Args:
        encoder: model `x -> [z_mean, z_log_var]`, as from `build_encoder`, or any functional
            `keras.Model` of that form, whatever its layers' names.
        decoder: model `z -> reconstruction`, as from `build_decoder`, or any functional
            `keras.Model` of that form.
        likelihood: `"bernoulli"` or `"gaussian"`; must match the decoder's output.
        sigma: positive float, the Gaussian decoder's fixed standard deviation.
        beta: non-negative float, the weight of the KL term.
        learning_rate: positive float, the learning rate of the optimizer the VAE is compiled
            with, stored by that optimizer and used by its training step (the reference uses
            `keras.optimizers.Adam(learning_rate)`; any optimizer given `learning_rate` does this).
        seed: integer or `None`, the seed of the `Sampling` layer.
        jit_compile: passed to `compile`; `"auto"` compiles the training step with XLA except
            for convolutional models on a machine without a GPU, where XLA measured slower
            (`benchmarks/README.md`), and under a `tf.distribute` strategy with several
            replicas, where Keras 3 cannot compile it.
        steps_per_execution: passed to `compile`: training steps run per call of the
            compiled function, which removes per-batch Python overhead. `"auto"` gives 32,
            and 1 under a strategy with several replicas: Keras 3.15's loop of several steps
            per call fails there ("You must feed a value for placeholder tensor").


    Returns:
        A compiled `keras.Model` named `"vae"` (functional or subclassed with a `call`), with
        the attributes `encoder` and `decoder` (the models passed in); `vae(x)` returns the
        reconstruction.

    Raises:
        ValueError: for an invalid argument or an encoder and decoder that do not fit together.
    """
    likelihood = checks.choice("likelihood", likelihood, checks.LIKELIHOODS)
    sigma = checks.positive_float("sigma", sigma)
    beta = checks.non_negative_float("beta", beta)
    learning_rate = checks.positive_float("learning_rate", learning_rate)
    latent_dim = encoder.outputs[0].shape[-1]
    if tuple(decoder.inputs[0].shape[1:]) != (latent_dim,):
        raise checks.invalid(
            "decoder", f"a decoder taking z of shape (batch_size, {latent_dim})",
            tuple(decoder.inputs[0].shape),
        )
    if tuple(decoder.outputs[0].shape[1:]) != tuple(encoder.inputs[0].shape[1:]):
        raise checks.invalid(
            "decoder",
            f"a decoder whose output shape matches the encoder's input shape "
            f"{tuple(encoder.inputs[0].shape[1:])}",
            tuple(decoder.outputs[0].shape[1:]),
        )

    if jit_compile == "auto":
        jit_compile = _xla_helps(encoder, decoder)
    if steps_per_execution == "auto":
        steps_per_execution = 32 if _replicas_in_scope() == 1 else 1

    inputs = keras.Input(shape=encoder.inputs[0].shape[1:], name="x")
    z_mean, z_log_var = encoder(inputs)
    z_mean, z_log_var = layers.KLDivergenceLayer(beta, name="kl_divergence")([z_mean, z_log_var])
    z = layers.Sampling(seed=seed, name="z")([z_mean, z_log_var])
    reconstruction = decoder(z)
    vae = VAE(inputs, reconstruction, name="vae")
    vae.encoder = encoder
    vae.decoder = decoder
    vae.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=ReconstructionLoss(likelihood, sigma),
        metrics=[ReconstructionLossMetric(likelihood, sigma)],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return vae
