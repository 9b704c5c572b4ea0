"""The probe VAEs of the `vae` items: their configuration, their known weights (a linear
encoder and decoder, so that the loss has a float64 closed form), that closed form's forward
pass, and the bound on what the sampling noise can move."""

import numpy as np

from keras_vae.graded import witness


def vae_config(rng):
    rate = float(np.round(rng.uniform(1e-4, 5e-3), 6))
    return {"num_pixels": int(rng.choice([n for n in range(60, 300) if n != 784])),
            "latent_dim": int(rng.integers(2, 6)),
            "sigma": float(np.round(rng.uniform(0.3, 0.9), 3)),
            "beta": float(np.round(rng.uniform(0.2, 0.8), 3)),
            "learning_rates": [rate, float(np.round(rate * rng.uniform(2.0, 4.0), 7))],
            "image_shape": [int(rng.integers(3, 10)), int(rng.integers(3, 10)),
                            int(rng.integers(2, 4))],
            "rate_seed": int(rng.integers(2**31))}


def vae_inputs(rng, config):
    """Known encoder and decoder weights, so that the loss has a float64 closed form."""
    n, d = config["num_pixels"], config["latent_dim"]
    return {"enc_kernel": rng.normal(scale=0.05, size=(n, d)),
            "dec_kernel": rng.normal(scale=0.05, size=(d, n)),
            "dec_bias": rng.normal(scale=0.5, size=n),
            "x_binary": (rng.uniform(size=(32, n)) < 0.3).astype(np.float32),
            "x_soft": rng.uniform(size=(32, n)).astype(np.float32),
            **_image_inputs(rng, config),
            # z_log_var as a VAE trained on MNIST has it: posterior standard deviations of
            # 0.02 to 0.14, so that the probes look like use and z is not z_mean; and a
            # kernel that makes it vary from example to example, as an encoder's does.
            "log_var_bias": rng.uniform(-8.0, -4.0, size=d),
            "log_var_kernel": rng.normal(scale=0.3, size=(d, d))}


def _image_inputs(rng, config):
    """Probe weights and binary images for the VAE on `(height, width, channels)` examples."""
    shape, d = tuple(config["image_shape"]), config["latent_dim"]
    n = int(np.prod(shape))
    return {"image_enc_kernel": rng.normal(scale=0.05, size=(n, d)),
            "image_dec_kernel": rng.normal(scale=0.05, size=(d, n)),
            "image_dec_bias": rng.normal(scale=0.5, size=n),
            "x_image": (rng.uniform(size=(32,) + shape) < 0.3).astype(np.float32)}


def probe_weights(inputs, decoder_scale=1.0, log_var_scale=1.0, prefix=""):
    """The probe models' weights by shape (`exports.probe_models`); `prefix="image_"` for the
    VAE on images."""
    n, d = inputs[prefix + "enc_kernel"].shape
    return {(n, d): inputs[prefix + "enc_kernel"],
            (d, d): log_var_scale * inputs["log_var_kernel"], (d,): inputs["log_var_bias"],
            (d, n): decoder_scale * inputs[prefix + "dec_kernel"],
            (n,): inputs[prefix + "dec_bias"]}


def forward(inputs, x, gaussian=False, prefix=""):
    """`(z_mean, z_log_var, reconstruction)` of the probe VAE at z = z_mean, in float64."""
    z_mean = np.float64(x).reshape(len(x), -1) @ inputs[prefix + "enc_kernel"]
    logits = z_mean @ inputs[prefix + "dec_kernel"] + inputs[prefix + "dec_bias"]
    logits = logits.reshape(x.shape)
    z_log_var = z_mean @ inputs["log_var_kernel"] + inputs["log_var_bias"]
    return z_mean, z_log_var, logits if gaussian else witness.sigmoid(logits)


def posterior_std(inputs, x, prefix=""):
    """Each example's posterior standard deviations under the probe weights."""
    return np.exp(0.5 * forward(inputs, x, prefix=prefix)[1])


def noise_bound(inputs, x, gaussian=False, sigma=1.0, prefix=""):
    """How far the batch mean of the reconstruction loss at the sampled z can lie from its value
    at z_mean with the probe weights, but for a probability under 1e-8.

    z = z_mean + std * eps moves the logits (Gaussian: the means) by dl = (std * eps) @ C.
    Per example, nll(l + dl) - nll(l) = g . dl + r with g = probs - x (Gaussian:
    (mean - x) / sigma**2) and 0 <= r <= h / 2 * |dl|**2, where h = 1/4 bounds the Bernoulli
    nll's second derivative in each logit (the probe's logits stay far inside the clip at
    1e-7) and h = 1 / sigma**2 is the Gaussian's. Over a batch of B examples, the mean of
    g . dl is normal with mean 0 and variance sum_b |std * (C @ g_b)|**2 / B**2, bounded by 6
    standard deviations but for a probability of 2e-9; the mean of |dl|**2 is
    sum_b eps_b^T M_b eps_b / B with M_b = diag(std_b) C C^T diag(std_b), a sum of weighted
    chi-squares whose weights (the eigenvalues of the M_b) have a sum of T = sum_b tr(M_b), a
    Euclidean norm under sqrt(sum_b tr(M_b)**2) and a largest one under max_b tr(M_b); it lies
    below T + 2 * sqrt(t * sum_b tr(M_b)**2) + 2 * t * max_b tr(M_b) but for a probability of
    exp(-t) (Laurent and Massart 2000, lemma 1), t = 20.
    """
    kernel, std = inputs[prefix + "dec_kernel"], posterior_std(inputs, x, prefix)
    size = len(x)
    outputs = forward(inputs, x, gaussian, prefix=prefix)[2].reshape(size, -1)
    slope = outputs - np.float64(x).reshape(size, -1)
    slope, curvature = (slope / sigma**2, 1 / sigma**2) if gaussian else (slope, 0.25)
    linear = 6 * np.sqrt(np.sum((std * (slope @ kernel.T)) ** 2)) / size
    traces, t = std**2 @ np.sum(kernel**2, axis=1), 20.0
    squares = (np.sum(traces) + 2 * np.sqrt(t * np.sum(traces**2)) + 2 * t * np.max(traces))
    return linear + curvature / 2 * squares / size


def evaluated(graphs, name, x, y=None):
    logs = graphs.call(name, x, x if y is None else y, endpoint="test_step")
    assert isinstance(logs, dict) and "loss" in logs, (
        f"vae.evaluate: expected a `loss` among the reported metrics, received "
        f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}.")
    return logs["loss"]


# An optimizer given `gradient_accumulation_steps=k` changes no weight before its k-th call:
# the items that judge a first step take the first one that moves a weight.
MOST_CALLS_TO_MOVE = 4


def first_move(graphs, name, x, calls=None):
    """Calls the archive's training step on `(x, x)` until a trainable weight moves, at most
    `MOST_CALLS_TO_MOVE` times, or exactly `calls` times; returns how many calls it made."""
    trainable = [v for v in graphs.variables(name) if v.trainable]
    start = [v.numpy() for v in trainable]
    made = 0
    while made < (calls or MOST_CALLS_TO_MOVE):
        graphs.call(name, x, x, endpoint="train_step")
        made += 1
        if calls is None and any(np.any(v.numpy() != s) for v, s in zip(trainable, start)):
            break
    return made
