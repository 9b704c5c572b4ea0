"""Assignment: a variational autoencoder in Keras 3.

Implement every function and layer below; the docstrings give the shapes, the formula and the
reduction. Grade yourself with `pytest --impl assignments` (or `python -m keras_vae.grade
--impl assignments`) and train your model with `python -m keras_vae.train --impl assignments`.
Use `keras.ops` (or TensorFlow ops) and `keras.random`, never NumPy, inside layers and losses:
NumPy values are frozen when Keras traces the model.
"""

import keras
from keras import ops


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
    # Pitfall: exp(z_log_var) is the variance; the noise is scaled by the standard deviation.
    raise NotImplementedError("reparameterize")


@keras.saving.register_keras_serializable(package="assignments")
class Sampling(keras.layers.Layer):
    """Draws `z ~ N(z_mean, diag(exp(z_log_var)))` with the reparameterization trick.

    Fresh noise `epsilon ~ N(0, I)` is drawn on every call, in training and inference alike,
    from the layer's own `keras.random.SeedGenerator`. Two layers made with the same integer
    `seed` draw the same noise call for call, layers with different seeds draw different
    noise, and `Sampling.from_config(layer.get_config())` draws what `layer` draws. Gradients
    reach both inputs: `dz / dz_mean = 1` and `dz / dz_log_var = 0.5 * (z - z_mean)`.

    Args:
        seed: integer or `None`, the seed of the layer's random stream.

    Call arguments:
        inputs: list `[z_mean, z_log_var]`, each of shape `(batch_size, latent_dim)`.

    Returns:
        Tensor `z` of shape `(batch_size, latent_dim)`.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        # Create self.seed_generator, a keras.random.SeedGenerator for `seed`.
        raise NotImplementedError("Sampling.__init__")

    def call(self, inputs):
        # Pitfall: draw epsilon here with keras.random.normal(..., seed=self.seed_generator);
        # noise drawn once (or with NumPy) is the same in every step.
        raise NotImplementedError("Sampling.call")

    def get_config(self):
        # Return the base config plus the seed, so that saved models load back.
        raise NotImplementedError("Sampling.get_config")


def kl_divergence(z_mean, z_log_var):
    """KL divergence from the approximate posterior to the standard normal prior.

    `KL(N(z_mean, diag(exp(z_log_var))) || N(0, I))` in closed form
    (Kingma & Welling 2013, appendix B):

        kl = 0.5 * sum(z_mean**2 + exp(z_log_var) - z_log_var - 1, axis=-1)

    Args:
        z_mean: tensor of shape `(batch_size, latent_dim)`, the posterior means.
        z_log_var: tensor of shape `(batch_size, latent_dim)`, the posterior
            log-variances `log(sigma**2)`.

    Returns:
        Tensor of shape `(batch_size,)`, in nats, summed over the latent axis.
    """
    # Pitfall: sum over the latent axis (not mean), and keep the "- 1".
    raise NotImplementedError("kl_divergence")


def bernoulli_nll(x, probs):
    """Negative log-likelihood of binary pixels under independent Bernoulli distributions.

        nll = -sum(x * log(probs) + (1 - x) * log(1 - probs))

    summed over every non-batch axis: binary cross-entropy summed over pixels (Keras'
    `binary_crossentropy` averages over the last axis instead). Probabilities of exactly 0 or 1
    must give a finite result near the exact one: under 1e-4 nats per pixel where
    `probs == x`, and over 5 nats per pixel where `probs == 1 - x`.

    Args:
        x: tensor of shape `(batch_size, ...)` with values in [0, 1], the data.
        probs: tensor of the same shape, the Bernoulli probabilities `p(x_d = 1 | z)`.

    Returns:
        Tensor of shape `(batch_size,)`, in nats.
    """
    # Pitfall: log(0) is -inf; clip probs to [keras.config.epsilon(), 1 - epsilon] first.
    raise NotImplementedError("bernoulli_nll")


def gaussian_nll(x, mean, sigma=1.0):
    """Negative log-likelihood of pixels under independent Gaussians with a fixed `sigma`.

        nll = sum((x - mean)**2) / (2 * sigma**2) + D * log(sigma) + D / 2 * log(2 * pi)

    where `D` is the number of pixels in one example. Up to the scale `1 / (2 * sigma**2)` and
    a constant this is the summed squared error.

    Args:
        x: tensor of shape `(batch_size, ...)`, the data.
        mean: tensor of the same shape, the decoder's means.
        sigma: positive float, the standard deviation shared by every pixel.

    Returns:
        Tensor of shape `(batch_size,)`, in nats, the normalizing constant included.
    """
    # Pitfall: sigma is a standard deviation, not a variance; D counts every pixel.
    raise NotImplementedError("gaussian_nll")


@keras.saving.register_keras_serializable(package="assignments")
class KLDivergenceLayer(keras.layers.Layer):
    """Identity layer that adds the KL term of the negative ELBO with `add_loss`.

    Adds `beta * mean(kl_divergence(z_mean, z_log_var))`: the batch mean, so that the added
    loss does not grow with the batch size (Keras 3 sums the entries of a non-scalar added
    loss). With `beta > 0` the added loss is 0 where `z_mean` and `z_log_var` are all 0 (q
    equals the prior) and positive elsewhere.

    Args:
        beta: non-negative float, the weight of the KL term (1 gives the ELBO).

    Call arguments:
        inputs: list `[z_mean, z_log_var]`, each of shape `(batch_size, latent_dim)`.

    Returns:
        The inputs, unchanged.
    """

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, inputs):
        # Pitfall: add the batch *mean* times beta; a sum grows with the batch size.
        raise NotImplementedError("KLDivergenceLayer.call")

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    """Builds the inference network `x -> [z_mean, z_log_var]` of `q(z|x)`.

    Its weights are those of the hidden layers and of the two heads on the last of them, and
    each takes part in the outputs.

    Args:
        input_shape: tuple, the shape of one example, such as `(784,)` or `(28, 28, 1)`.
        latent_dim: positive integer, the number of latent dimensions.
        hidden_units: sequence of positive integers, the sizes of the dense hidden layers
            (applied in this order from `x`).

    Returns:
        `keras.Model` named `"encoder"` (functional or subclassed) with outputs
        `[z_mean, z_log_var]` (a list or a tuple), each of shape `(batch_size, latent_dim)`. Both
        heads are linear: a log-variance takes any sign, and neither is bounded.
    """
    # Pitfall: no activation on the z_log_var head; flatten image inputs first.
    raise NotImplementedError("build_encoder")


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    """Builds the generative network mapping `z` to the parameters of `p(x|z)`.

    Its weights are those of the hidden layers and of the output layer on the last of them, and
    each takes part in the output.

    Args:
        latent_dim: positive integer, the number of latent dimensions.
        output_shape: tuple, the shape of one example, such as `(784,)` or `(28, 28, 1)`.
        hidden_units: sequence of positive integers, the sizes of the dense hidden layers
            (applied in this order from `z`).
        likelihood: `"bernoulli"` (sigmoid outputs: probabilities in [0, 1] that come near
            both 0 and 1 as the weights are scaled up) or `"gaussian"` (the means: linear
            outputs, or squashed into the data's range).

    Returns:
        `keras.Model` named `"decoder"` (functional or subclassed) mapping
        `(batch_size, latent_dim)` to `(batch_size,) + output_shape`.
    """
    # Pitfall: Bernoulli probabilities need a sigmoid; reshape back to output_shape.
    raise NotImplementedError("build_decoder")


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    """Joins an encoder and a decoder into a compiled variational autoencoder.

    `vae(x)` encodes `x`, adds the KL term with `KLDivergenceLayer`, samples `z` with
    `Sampling` and returns the decoder's reconstruction. `vae.fit(x, x)` minimizes the
    negative ELBO per example, averaged over the batch, and `vae.evaluate(x, x)` reports it as
    `loss`:

        loss = mean(nll(x, reconstruction)) + beta * mean(kl_divergence(z_mean, z_log_var))

    where `nll` is `bernoulli_nll` for `likelihood="bernoulli"` and `gaussian_nll` with `sigma`
    for `likelihood="gaussian"`, with the reconstruction term passed as `compile(loss=...)`.
    The VAE's trainable weights are exactly the encoder's and the decoder's: it adds none.

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

    Returns:
        A compiled `keras.Model` named `"vae"` (functional or subclassed with a `call`), with
        the attributes `encoder` and `decoder` (the models passed in); `vae(x)` returns the
        reconstruction.
    """
    # Pitfall: decode the sampled z, not z_mean; set vae.encoder and vae.decoder; the loss
    # function is (x, reconstruction) -> per-example nll, using likelihood and sigma.
    raise NotImplementedError("build_vae")
