"""Graded: `build_vae`, its losses, its sampling, its optimizer and its fit (the reference's
`models.py`)."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.graphs import FORWARD_ENDPOINTS
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_shape


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


def fit_config(rng):
    return {"num_pixels": 784, "latent_dim": 4, "hidden_units": [64]}


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
            # 0.02 to 0.14, so that the probes look like use and z is not z_mean.
            "log_var_bias": rng.uniform(-8.0, -4.0, size=d)}


def _image_inputs(rng, config):
    """Probe weights and binary images for the VAE on `(height, width, channels)` examples."""
    shape, d = tuple(config["image_shape"]), config["latent_dim"]
    n = int(np.prod(shape))
    return {"image_enc_kernel": rng.normal(scale=0.05, size=(n, d)),
            "image_dec_kernel": rng.normal(scale=0.05, size=(d, n)),
            "image_dec_bias": rng.normal(scale=0.5, size=n),
            "x_image": (rng.uniform(size=(32,) + shape) < 0.3).astype(np.float32)}


def _probe_weights(inputs, decoder_scale=1.0, prefix=""):
    """The probe models' weights by shape (`exports.probe_models`); `prefix="image_"` for the
    VAE on images."""
    n, d = inputs[prefix + "enc_kernel"].shape
    return {(n, d): inputs[prefix + "enc_kernel"], (d, d): np.zeros((d, d)),
            (d,): inputs["log_var_bias"], (d, n): decoder_scale * inputs[prefix + "dec_kernel"],
            (n,): inputs[prefix + "dec_bias"]}


def _forward(inputs, x, gaussian=False, decoder_scale=1.0, prefix=""):
    z_mean = np.float64(x).reshape(len(x), -1) @ inputs[prefix + "enc_kernel"]
    logits = z_mean @ (decoder_scale * inputs[prefix + "dec_kernel"]) + inputs[prefix + "dec_bias"]
    logits = logits.reshape(x.shape)
    z_log_var = np.broadcast_to(inputs["log_var_bias"], z_mean.shape)
    return z_mean, z_log_var, logits if gaussian else witness.sigmoid(logits)


def _noise_bound(inputs, x, gaussian=False, sigma=1.0, prefix=""):
    """How far the batch mean of the reconstruction loss at the sampled z can lie from its value
    at z_mean with the probe weights, but for a probability under 1e-8.

    z = z_mean + std * eps moves the logits (Gaussian: the means) by dl = (std * eps) @ C.
    Per example, nll(l + dl) - nll(l) = g . dl + r with g = probs - x (Gaussian:
    (mean - x) / sigma**2) and 0 <= r <= h / 2 * |dl|**2, where h = 1/4 bounds the Bernoulli
    nll's second derivative in each logit (the probe's logits stay far inside the clip at
    1e-7) and h = 1 / sigma**2 is the Gaussian's. Over a batch of B examples, the mean of
    g . dl is normal with mean 0 and variance sum_b |std * (C @ g_b)|**2 / B**2, bounded by 6
    standard deviations but for a probability of 2e-9; the mean of |dl|**2 is
    sum_b eps_b^T M eps_b / B with M = diag(std) C C^T diag(std), bounded by
    tr(M) * (1 + 2 * sqrt(t / B) + 2 * t / B) but for a probability of exp(-t) (Laurent and
    Massart 2000, lemma 1, with tr(M) above M's Frobenius and operator norms), t = 20.
    """
    kernel, std = inputs[prefix + "dec_kernel"], np.exp(0.5 * inputs["log_var_bias"])
    size = len(x)
    outputs = _forward(inputs, x, gaussian, prefix=prefix)[2].reshape(size, -1)
    slope = outputs - np.float64(x).reshape(size, -1)
    slope, curvature = (slope / sigma**2, 1 / sigma**2) if gaussian else (slope, 0.25)
    linear = 6 * np.sqrt(np.sum((std * (slope @ kernel.T)) ** 2)) / size
    trace, t = np.sum(std**2 * np.sum(kernel**2, axis=1)), 20.0
    return linear + curvature / 2 * trace * (1 + 2 * np.sqrt(t / size) + 2 * t / size)


def _evaluated(graphs, name, x, y=None):
    logs = graphs.call(name, x, x if y is None else y, endpoint="test_step")
    assert isinstance(logs, dict) and "loss" in logs, (
        f"vae.evaluate: expected a `loss` among the reported metrics, received "
        f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}.")
    return logs["loss"]


def vae_compiled_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", _probe_weights(inputs))
    return {"output": graphs.call("bernoulli", inputs["x_binary"][:3])}


def vae_compiled_judge(inputs, observed):
    facts = observed["facts"]
    assert facts.get("is_model") is True and facts.get("compiled") is True, (
        f"Expected a compiled keras.Model, received {facts.get('type')} "
        f"(compiled={facts.get('compiled')}).")
    assert facts.get("encoder_is") is True and facts.get("decoder_is") is True, (
        "Expected vae.encoder and vae.decoder to be the models passed in.")
    x = inputs["x_binary"][:3]
    expect_shape(observed["output"], x.shape, "vae(x)")
    # vae(x) is the decoder's output at z = z_mean + std * eps: each logit lies within
    # 6 * (std @ |C|) of its value at z_mean (every |eps| under 6 but for a probability of
    # 2e-9 each), and a sigmoid's slope is at most 1/4.
    std = np.exp(0.5 * inputs["log_var_bias"])
    expect_close(observed["output"], _forward(inputs, x)[2], "vae(x) with the probe models",
                 "vae(x) must return the decoder's reconstruction of the sampled z.",
                 rtol=1e-4, atol=1e-5 + 1.5 * (std @ np.abs(inputs["dec_kernel"])))


def vae_bernoulli_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", _probe_weights(inputs))
    graphs.set_by_shape("image", _probe_weights(inputs, prefix="image_"))
    return {"loss": _evaluated(graphs, "bernoulli", inputs["x_binary"]),
            "image_loss": _evaluated(graphs, "image", inputs["x_image"])}


def vae_bernoulli_judge(inputs, observed):
    x = inputs["x_binary"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, "vae.evaluate loss (Bernoulli, beta=1)",
                 "compile with loss=bernoulli_nll (summed over pixels, not 'mse' nor keras' "
                 "averaged binary_crossentropy) and add the KL with KLDivergenceLayer.",
                 rtol=1e-4, atol=1e-2 + _noise_bound(inputs, x))
    x = inputs["x_image"]
    z_mean, z_log_var, probs = _forward(inputs, x, prefix="image_")
    expected = (witness.bernoulli_nll(x, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["image_loss"], expected,
                 f"vae.evaluate loss (Bernoulli, beta=1) on images of shape {x.shape[1:]}",
                 "the reconstruction loss must sum over every pixel of an image, all axes but "
                 "the batch (a loss reduced over the last axis only, or scaled by "
                 "x.shape[-1], is right for flat examples alone).", rtol=1e-4,
                 atol=1e-2 + _noise_bound(inputs, x, prefix="image_"))


def vae_gaussian_run(graphs, inputs):
    graphs.set_by_shape("gaussian", _probe_weights(inputs))
    return {"loss": _evaluated(graphs, "gaussian", inputs["x_soft"])}


def vae_gaussian_judge(inputs, observed):
    x, sigma = inputs["x_soft"], inputs["sigma"]
    z_mean, z_log_var, mean = _forward(inputs, x, gaussian=True)
    expected = (witness.gaussian_nll(x, mean, sigma).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (Gaussian, sigma={sigma})",
                 "build_vae must pick gaussian_nll(x, mean, sigma) when likelihood='gaussian' "
                 "and pass sigma on.", rtol=1e-4,
                 atol=1e-2 + _noise_bound(inputs, x, gaussian=True, sigma=sigma))


def vae_beta_run(graphs, inputs):
    x = inputs["x_binary"]
    graphs.set_by_shape("beta", _probe_weights(inputs))
    observed = {"loss": _evaluated(graphs, "beta", x)}
    # The training step reports the loss at the weights before its update, those evaluated.
    logs = graphs.call("beta", x, x, endpoint="train_step")
    assert isinstance(logs, dict) and "loss" in logs, (
        f"vae.train_step: expected a `loss` among the reported metrics, received "
        f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}.")
    observed["train_loss"] = logs["loss"]
    return observed


def vae_beta_judge(inputs, observed):
    x, beta = inputs["x_binary"], inputs["beta"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + beta * witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (beta={beta})",
                 "pass beta to KLDivergenceLayer(beta).", rtol=1e-4,
                 atol=1e-2 + _noise_bound(inputs, x))
    expect_close(observed["train_loss"], expected,
                 f"the loss the first training step reports (beta={beta}), at the weights "
                 "before its update",
                 "the training step must minimize mean(nll) + beta * mean(KL) too, e.g. a "
                 "custom train_step that adds the KL with weight 1 instead of the layers' "
                 "losses (sum(self.losses)).", rtol=1e-4, atol=1e-2 + _noise_bound(inputs, x))


def vae_kl_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", _probe_weights(inputs, decoder_scale=0.0))
    x = inputs["x_binary"]
    observed = {"loss": _evaluated(graphs, "bernoulli", x),
                "aligned_loss": _evaluated(graphs, "bernoulli", _aligned(inputs))}
    # One training step with the decoder ignoring z, so that the encoder's gradient is the
    # KL's alone, and z_log_var = b (B = 0, where Ftrl's state, which assumes weights start
    # at 0, agrees with the weights); less the step of a fresh copy on a batch of zeros,
    # where z_mean = 0 and the KL's gradient on A and B is 0, so that what an optimizer does
    # from its state alone (ScheduleFreeAdamW's copy of the weights it was built with, Ftrl's
    # pull of A to 0) cancels. The evaluations above change neither the weights nor the
    # optimizer's state, and with the decoder ignoring z the noise moves no gradient.
    weights = _probe_weights(inputs, decoder_scale=0.0)
    steps = []
    for copy, batch in ((graphs, x), (type(graphs)(graphs.folder), np.zeros_like(x))):
        copy.set_by_shape("bernoulli", weights)
        copy.call("bernoulli", batch, batch, endpoint="train_step")
        steps.append({tuple(v.shape): v.numpy() - weights[tuple(v.shape)]
                      for v in copy.variables("bernoulli") if v.trainable})
    d = inputs["enc_kernel"].shape[1]
    observed["step_kernel"] = steps[0][(d, d)] - steps[1][(d, d)]
    return observed


def _aligned(inputs):
    """Binary examples in [0, 1] whose z_mean is far from 0: row b has the pixels on which
    column b % d of the encoder kernel has the sign (-1)**(b // d), so z_mean[b, b % d] is the
    sum of that column's entries of that sign."""
    kernel = inputs["enc_kernel"]
    d = kernel.shape[1]
    rows = [(-1) ** (b // d % 2) * kernel[:, b % d] > 0 for b in range(len(inputs["x_binary"]))]
    return np.array(rows, np.float32)


def vae_kl_judge(inputs, observed):
    # Both batches are evaluated with targets equal to inputs, so that a VAE that
    # reconstructs its input (the Keras tutorial's `x, _ = data`) is judged alike. The decoder
    # ignores z, so its output is the same for every example and every noise: the two losses
    # differ by the reconstruction of each batch under that constant output, and by the KL.
    losses = []
    for batch in (inputs["x_binary"], _aligned(inputs)):
        z_mean, z_log_var, probs = _forward(inputs, batch, decoder_scale=0.0)
        losses.append((witness.bernoulli_nll(batch, probs).mean(),
                       witness.kl_divergence(z_mean, z_log_var).mean()))
    expected = (losses[1][0] - losses[0][0]) + (losses[1][1] - losses[0][1])
    received = (float(array(observed["aligned_loss"], "loss"))
                - float(array(observed["loss"], "loss")))
    expect_close(received, expected, "evaluate's loss on a batch whose z_mean is far from 0, "
                 "less its loss on the binary batch (decoder kernel 0, so that the "
                 "reconstruction does not depend on z); the KL accounts for "
                 f"{losses[1][1] - losses[0][1]:.5g} of that",
                 "the KL divergence is missing from the loss: the model needs a "
                 "KLDivergenceLayer on [z_mean, z_log_var].", rtol=1e-3, atol=1e-2)
    # d KL / d B = z_mean^T (0.5 * (exp(b) - 1)) / batch_size, with exp(b) under 0.02: the KL
    # pulls row i of B along the batch mean of z_mean[:, i]; without the KL, B's gradient is
    # 0 on both batches and the two steps are the same.
    pull = (np.float64(inputs["x_binary"]) @ inputs["enc_kernel"]).mean(axis=0)
    kernel = array(observed["step_kernel"], "step")
    expect_shape(kernel, (len(pull), len(pull)), "the z_log_var head's kernel step")
    rows = np.abs(pull) >= 0.2 * np.abs(pull).max()
    assert np.all(kernel[rows] * pull[rows, None] > 0), (
        f"One training step with a decoder that ignores z, so that the encoder's gradient is "
        f"the KL's alone, less the step on a batch of zeros (where the KL's gradient on the "
        f"z_log_var head's kernel is 0): expected the kernel to move against the KL's gradient "
        f"(signs {np.sign(pull[rows]).astype(int)} on its rows {np.flatnonzero(rows)}), "
        f"received moves of {np.round(kernel[rows, 0], 7)}.\nLikely mistake: the training step "
        "leaves out the losses the layers add (the KL of KLDivergenceLayer), e.g. a custom "
        "train_step whose loss is the reconstruction only: add sum(self.losses).")


def vae_samples_inputs(rng, config):
    """Data in [0, 1] and weights drawn at random for the Gaussian probe VAE of 3 pixels and
    2 latent dimensions: `z_mean = x @ A`, `z_log_var = z_mean @ B + b`, `mean = z @ C + c`."""
    return {"x": rng.uniform(size=(SAMPLES, 3)).astype(np.float32),
            "enc_kernel": rng.normal(size=(3, 2)),
            "log_var_kernel": rng.normal(scale=0.2, size=(2, 2)),
            "log_var_bias": np.log(rng.uniform(2.0, 6.0, size=2)),
            "dec_kernel": rng.normal(size=(2, 3)), "dec_bias": rng.normal(scale=0.1, size=3)}


SAMPLES = 5000


def vae_samples_run(graphs, inputs):
    graphs.set_by_shape("samples", {(3, 2): inputs["enc_kernel"], (2, 2): inputs["log_var_kernel"],
                                    (2,): inputs["log_var_bias"], (2, 3): inputs["dec_kernel"],
                                    (3,): inputs["dec_bias"]})
    return {"samples": graphs.call("samples", inputs["x"], endpoint="call_training"),
            "inference": graphs.call("samples", inputs["x"], endpoint="call"),
            "loss": _evaluated(graphs, "samples", inputs["x"])}


def vae_samples_judge(inputs, observed):
    x = np.float64(inputs["x"])
    z_mean = x @ inputs["enc_kernel"]
    std = np.exp(0.5 * (z_mean @ inputs["log_var_kernel"] + inputs["log_var_bias"]))
    size = len(x)
    for key, what in (("samples", "vae(x, training=True)"), ("inference", "vae(x)")):
        means = array(observed[key], what)
        expect_shape(means, x.shape, f"{what} with a linear decoder")
        # The decoder's kernel has rank 2: the decoded z is recovered exactly.
        z = (means - inputs["dec_bias"]) @ np.linalg.pinv(inputs["dec_kernel"])
        noise = (z - z_mean) / std
        spread, centre = noise.std(axis=0), noise.mean(axis=0)
        hint = ("the decoder is fed z_mean (no spread) instead of the Sampling layer's z, or the "
                "variance is used as the standard deviation.")
        if key == "inference" and np.all(spread < 1e-3):
            hint = ("z_mean is decoded outside training; vae(x) samples z in training and "
                    "inference alike.")
        # Bounds of 6 standard errors: a correct VAE fails with probability below 1e-8.
        assert np.all(np.abs(spread - 1) < 6 / np.sqrt(2 * size)), (
            f"Decoded z in {what}, standardized by the posterior of each row: expected standard "
            f"deviation 1, received {np.round(spread, 3)}.\nLikely mistake: {hint}")
        assert np.all(np.abs(centre) < 6 / np.sqrt(size)), (
            f"Decoded z in {what}, standardized by the posterior of each row: expected mean 0, "
            f"received {np.round(centre, 3)}.\nLikely mistake: z must be centred on z_mean.")
    _judge_sampled_loss(inputs, observed["loss"])


def _judge_sampled_loss(inputs, loss):
    """The loss evaluate reports is the negative ELBO at the sampled z (sigma = 1, beta = 1):
    with mean = m + u, u = (std * eps) @ C ~ N(0, S) and S = C^T diag(std**2) C per example,
    0.5 * |x - mean|**2 = 0.5 * |r|**2 - r . u + 0.5 * |u|**2 (r = x - m) has mean
    0.5 * |r|**2 + 0.5 * tr(S) and variance r^T S r + 0.5 * tr(S @ S); the batch mean lies
    within 6 standard errors of its expectation (the mean of 5000 independent terms is near
    normal), while the loss at z_mean lies 0.5 * mean(tr(S)) below it."""
    x = np.float64(inputs["x"])
    z_mean = x @ inputs["enc_kernel"]
    z_log_var = z_mean @ inputs["log_var_kernel"] + inputs["log_var_bias"]
    kernel, size = inputs["dec_kernel"], len(x)
    residual = x - (z_mean @ kernel + inputs["dec_bias"])
    covariance = np.einsum("ji,bj,jk->bik", kernel, np.exp(z_log_var), kernel)
    trace = np.trace(covariance, axis1=1, axis2=2)
    variance = (np.einsum("bi,bik,bk->b", residual, covariance, residual)
                + 0.5 * np.einsum("bik,bki->b", covariance, covariance))
    at_z_mean = (witness.gaussian_nll(x, x - residual, 1.0).mean()
                 + witness.kl_divergence(z_mean, z_log_var).mean())
    expected = at_z_mean + 0.5 * trace.mean()
    received = float(array(loss, "loss"))
    hint = ("the loss decodes z_mean instead of the sampled z: the loss must be the negative "
            "ELBO at z = z_mean + exp(z_log_var / 2) * eps, the z that vae(x) decodes."
            if abs(received - at_z_mean) < abs(received - expected) else
            "the loss is not mean(gaussian_nll) + mean(KL) at the sampled z.")
    expect_close(loss, expected, "vae.evaluate loss of the Gaussian VAE with a wide posterior "
                 f"(its value at z_mean would be {at_z_mean:.5g})", hint, rtol=1e-5,
                 atol=1e-3 + 6 * np.sqrt(variance.sum()) / size)


def _rate_variables(model):
    """The float scalars that a loaded archive's `train_step` reads and its forward endpoints
    do not: the optimizer's learning rate is one of them, as the optimizer stores it."""
    def read_by(endpoints):
        return {id(v): v for endpoint in endpoints if hasattr(model, endpoint)
                for function in getattr(model, endpoint).concrete_functions
                for v in function.variables}

    forward = read_by(FORWARD_ENDPOINTS)
    return [v for key, v in read_by(["train_step"]).items() if key not in forward
            and v.shape.rank == 0 and v.dtype.is_floating]


def _encoder_kernel(graphs, name, shape):
    return next(v for v in graphs.variables(name) if tuple(v.shape) == shape).numpy()


def vae_learning_rate_run(graphs, inputs):
    rate_a, rate_b = inputs["learning_rates"]
    observed = {name: [float(v.numpy()) for v in _rate_variables(graphs.load(name))]
                for name in ("rate_a", "rate_b")}
    # First steps from the same weights, data and noise (the export seeds both VAEs alike):
    # of the VAE built with rate_a, of the one built with rate_b, and of a fresh copy of the
    # first whose stored rate is set to rate_b.
    x, shape, steps = inputs["x_binary"], inputs["enc_kernel"].shape, {}
    for key, copy, name in (("a", graphs, "rate_a"), ("b", graphs, "rate_b"),
                            ("a_at_b", type(graphs)(graphs.folder), "rate_a")):
        copy.set_by_shape(name, _probe_weights(inputs))
        start = _encoder_kernel(copy, name, shape)
        if key == "a_at_b":
            for variable in _rate_variables(copy.load(name)):
                if np.isclose(variable.numpy(), rate_a, rtol=1e-6, atol=0):
                    variable.assign(rate_b)
        copy.call(name, x, x, endpoint="train_step")
        steps[key] = _encoder_kernel(copy, name, shape) - start
    observed.update({f"step_{key}": step for key, step in steps.items()})
    return observed


def vae_learning_rate_judge(inputs, observed):
    hint = ("pass learning_rate to the optimizer build_vae compiles with, e.g. "
            "keras.optimizers.Adam(learning_rate), and train with that optimizer.")
    rate_a, rate_b = inputs["learning_rates"]
    for name, rate in zip(("rate_a", "rate_b"), inputs["learning_rates"]):
        stored = [float(value) for value in observed[name]]
        assert any(np.isclose(value, rate, rtol=1e-6, atol=0) for value in stored), (
            f"build_vae(..., learning_rate={rate}): expected its training step to read the "
            f"rate {rate} as its optimizer stores it, received a training step whose own "
            f"scalars hold {np.round(stored, 8).tolist()}.\nLikely mistake: {hint}")
    step_a, step_b, step_a_at_b = (array(observed[f"step_{key}"], "step")
                                   for key in ("a", "b", "a_at_b"))
    for step in (step_a, step_b, step_a_at_b):
        expect_shape(step, inputs["enc_kernel"].shape, "the encoder kernel's first step")
    assert np.abs(step_a).max() > 0, (
        "The first training step changed no weight of the encoder.\nLikely mistake: no "
        "optimizer step, or gradients do not reach the encoder.")
    # The three steps start from the same weights, data, noise and optimizer state: the
    # stored rate is all that tells the first from the other two, and all that the step of
    # build_vae(..., learning_rate=rate_b) may owe to rate_b.
    assert np.any(step_a_at_b != step_a), (
        f"The first training step of build_vae(..., learning_rate={rate_a}), repeated from the "
        f"same weights with its optimizer's stored rate set to {rate_b}: expected another "
        f"step, received the same one.\nLikely mistake: {hint}")
    expect_close(step_a_at_b, step_b, f"the first step of build_vae(..., learning_rate={rate_a}) "
                 f"with its optimizer's stored rate set to {rate_b}, against the first step of "
                 f"build_vae(..., learning_rate={rate_b}) from the same weights and noise",
                 "build_vae must use learning_rate only as the optimizer's learning rate (not "
                 "also to scale the loss, the weights or the noise).",
                 rtol=1e-5, atol=1e-6 * float(np.abs(step_b).max()))


def fit_inputs(rng, config):
    rows = rng.permutation(5000)
    return {"rows": np.sort(rows[:1000]), "held_out": np.sort(rows[1000:1500]),
            "order": int(rng.integers(2**31))}


def _digits(rows):
    from keras_vae.datafiles import embedded_sample_path

    with np.load(embedded_sample_path()) as data:
        x = data["x_train"][rows].reshape(-1, 784)
    return (x > 127).astype(np.float32)


def _promised_gradients(graphs, name, x, draws=8):
    """The gradient of the negative ELBO (beta = 1) with respect to the archive's trainable
    variables, through its exported encoder and decoder, averaged over `draws` NumPy noises."""
    import tensorflow as tf

    variables = [v for v in graphs.variables(name) if v.trainable]
    model, x = graphs.load(name), tf.constant(x)
    total = [np.zeros(v.shape, np.float64) for v in variables]
    for draw in range(draws):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = model.encoder(x)
            noise = np.random.default_rng(draw).normal(size=z_mean.shape).astype(np.float32)
            z = z_mean + tf.exp(z_log_var / 2) * noise
            probs = tf.clip_by_value(model.decoder(z), 1e-7, 1 - 1e-7)
            nll = -tf.reduce_sum(x * tf.math.log(probs) + (1 - x) * tf.math.log(1 - probs), 1)
            kl = 0.5 * tf.reduce_sum(z_mean**2 + tf.exp(z_log_var) - z_log_var - 1, 1)
            loss = tf.reduce_mean(nll) + tf.reduce_mean(kl)
        for index, gradient in enumerate(tape.gradient(loss, variables)):
            if gradient is not None:
                total[index] += np.float64(gradient.numpy()) / draws
    return total


def fit_run(graphs, inputs):
    x, held_out = _digits(inputs["rows"]), _digits(inputs["held_out"])
    # Each negative ELBO is measured on held-out digits by the first calls of a copy of the
    # model loaded on its own, the second one given the trained weights only: a model whose
    # outputs follow a counter of its calls, or replay what it stored, gains nothing.
    before = _elbo(graphs, held_out)
    order = np.random.default_rng(inputs["order"])
    batches = np.array_split(order.permutation(len(x)), len(x) // 50)
    trainable = [v for v in graphs.variables("vae") if v.trainable]
    initial = [v.numpy().astype(np.float64) for v in trainable]
    gradients = _promised_gradients(graphs, "vae", x[batches[0]])
    quiet_logs = _quiet_logs(graphs, x[batches[0]], gradients)
    graphs.call("vae", x[batches[0]], x[batches[0]], endpoint="train_step")
    steps = [v.numpy() - start for v, start in zip(trainable, initial)]
    for epoch in range(3):
        for batch in batches[1:] if epoch == 0 else batches:
            graphs.call("vae", x[batch], x[batch], endpoint="train_step")
    fresh = type(graphs)(graphs.folder)
    copies = [v for v in fresh.variables("vae") if v.trainable]
    for variable, copy in zip(trainable, copies):
        copy.assign(variable)
    after = _elbo(fresh, held_out)
    return {"before": before, "after": after,
            "reported": _evaluated(fresh, "vae", held_out),
            "monte_carlo": _monte_carlo_elbo(fresh, held_out),
            "changed": float(max(np.abs(v.numpy() - start).max()
                                 for v, start in zip(trainable, initial))),
            "descent": float(sum(np.sum(step * gradient)
                                 for step, gradient in zip(steps, gradients))),
            "quiet_logs": quiet_logs}


def _quiet_logs(graphs, x, gradients, scale=3.0):
    """What the first training step on `x` reports, from the exported weights and from the
    same weights with the rows of zero gradient of the first kernel that has some (the input
    kernel's rows of pixels that are 0 in the whole batch) scaled by `scale`, each by a fresh
    copy (the same noise); `None` when no kernel has such rows. Those rows are multiplied by
    0 in the forward pass, so that a loss of reconstruction + beta * KL is the same for both;
    a term on the weights themselves (a kernel_regularizer) is not."""
    index = next((i for i, gradient in enumerate(gradients) if gradient.ndim == 2
                  and 0 < np.all(gradient == 0, axis=1).sum() < len(gradient)), None)
    if index is None:
        return None
    logs = []
    for factor in (1.0, scale):
        copy = type(graphs)(graphs.folder)
        variable = [v for v in copy.variables("vae") if v.trainable][index]
        value = variable.numpy()
        value[np.all(gradients[index] == 0, axis=1)] *= factor
        variable.assign(value)
        logs.append(copy.call("vae", x, x, endpoint="train_step"))
    return logs


def _elbo(graphs, x):
    """The negative ELBO of the model on `x`, computed here from its encoder and decoder, with
    z drawn by NumPy."""
    z_mean, z_log_var = graphs.call("vae", x, endpoint="encoder")
    z = z_mean + np.exp(0.5 * z_log_var) * np.random.default_rng(0).normal(size=z_mean.shape)
    probs = np.clip(graphs.call("vae", z, endpoint="decoder"), 1e-7, 1 - 1e-7)
    return float(witness.bernoulli_nll(x, probs).mean()
                 + witness.kl_divergence(z_mean, z_log_var).mean())


def _monte_carlo_elbo(graphs, x, draws=32, chunk=1024):
    """The runner's estimate of the expected negative ELBO (beta = 1) per digit, in float64,
    through the exported encoder and decoder: `(value, standard error of one evaluate)`,
    the latter from the spread of each digit's reconstruction over `draws` NumPy noises."""
    z_mean, z_log_var = (np.float64(a) for a in graphs.call("vae", x, endpoint="encoder"))
    rng = np.random.default_rng(1)
    z = (z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None]
         * rng.normal(size=(len(x), draws, z_mean.shape[1]))).reshape(-1, z_mean.shape[1])
    nll = []
    for start in range(0, len(z), chunk):  # a chunk at a time keeps the runner's memory flat
        probs = graphs.call("vae", np.float32(z[start:start + chunk]), endpoint="decoder")
        digits = x[np.arange(start, min(start + chunk, len(z))) // draws]
        nll.append(witness.bernoulli_nll(digits, np.clip(np.float64(probs), 1e-7, 1 - 1e-7)))
    nll = np.concatenate(nll).reshape(len(x), draws)
    kl = witness.kl_divergence(z_mean, z_log_var)
    # One evaluate draws one noise per digit: its batch mean varies by the digits' variances
    # over B**2, and this estimate's own by that over `draws`.
    error = np.sqrt(nll.var(axis=1, ddof=1).sum() * (1 + 1 / draws)) / len(x)
    return [float(nll.mean() + kl.mean()), float(error)]


def fit_judge(inputs, observed):
    before = float(array(observed["before"], "loss"))
    after = float(array(observed["after"], "loss"))
    assert np.isfinite(before) and np.isfinite(after), (
        f"Negative ELBO of the VAE on held-out digits, before and after 3 epochs of its "
        f"training step: expected finite values, received {before:.4g} and {after:.4g}.\n"
        "Likely mistake: the encoder or decoder computes inf or NaN (a log of 0, an exp that "
        "overflows).")
    assert float(observed["changed"]) > 0, (
        "Weights after 3 epochs of the VAE's training step: expected them to change, received "
        "the initial weights.\nLikely mistake: no optimizer step, or a learning rate of 0.")
    logs = observed["quiet_logs"]
    if logs is not None:
        plain, scaled = ({str(k): float(array(v, "log")) for k, v in dict(log).items()}
                         for log in logs)
        moved = {k: (plain[k], scaled.get(k)) for k in plain
                 if k not in scaled or not np.isclose(scaled[k], plain[k], rtol=1e-6, atol=1e-6)}
        assert not moved, (
            f"First training step on a batch where some pixels are 0 in every digit, from the "
            f"initial weights and from the same weights with the encoder's weights on those "
            f"pixels tripled (which the negative ELBO on this batch does not depend on): "
            f"expected the same reported loss, received {moved}.\nLikely mistake: the training "
            "loss has terms beyond reconstruction + beta * KL, such as a kernel_regularizer "
            "(the contract's loss is the negative ELBO alone).")
    assert float(observed["descent"]) < 0, (
        "First training step: expected a move against the gradient of the negative ELBO "
        "(reconstruction + beta * KL, computed by the grader through your encoder and "
        "decoder), received a move along it.\nLikely mistake: the loss has the wrong sign, or "
        "the step follows another loss.")
    reported = float(array(observed["reported"], "loss"))
    estimate, error = (float(v) for v in observed["monte_carlo"])
    assert abs(reported - estimate) <= 6 * error + 1e-3 * abs(estimate) + 1e-2, (
        f"The loss evaluate reports on 500 held-out digits after training: expected the "
        f"negative ELBO per digit, mean(bernoulli_nll) + mean(KL), which the grader estimates "
        f"through your encoder and decoder at {estimate:.4f} (standard error of one evaluate "
        f"{error:.3g}), received {reported:.4f}.\nLikely mistake: the compiled loss is not "
        "the contract's (keras' binary_crossentropy averages the pixels; the KL of "
        "KLDivergenceLayer is missing), or build_vae treats your own models otherwise than "
        "any others.")
    assert after < before - 1e-4 * abs(before), (
        f"Negative ELBO on held-out digits after 3 epochs of the VAE's training step: expected "
        f"below its start of {before:.1f}, received {after:.1f}.\nLikely mistake: a learning "
        "rate too small to train in 3 epochs (build_vae's default is 1e-3), or outputs that "
        "do not follow the trained weights.")


VAE = ("build_vae", "KLDivergenceLayer", "Sampling", "kl_divergence", "bernoulli_nll",
       "reparameterize")


ITEMS = [
    Item("vae.compiled", 1, "build_vae returns a compiled keras.Model with .encoder, .decoder "
         "and x-shaped output.", ("build_vae",), "vae", vae_inputs, vae_compiled_run,
         vae_compiled_judge),
    Item("vae.bernoulli_loss", 3, "The VAE's loss is mean(bernoulli_nll) + mean(KL) for "
         "likelihood='bernoulli', on flat and image examples.", VAE, "vae", vae_inputs,
         vae_bernoulli_run, vae_bernoulli_judge),
    Item("vae.gaussian_loss", 2, "The VAE's loss is mean(gaussian_nll with sigma) + mean(KL) "
         "for likelihood='gaussian'.", VAE[:5] + ("gaussian_nll", "reparameterize"), "vae",
         vae_inputs, vae_gaussian_run, vae_gaussian_judge),
    Item("vae.beta", 1, "With beta the VAE's loss is mean(nll) + beta * mean(KL), in evaluate "
         "and in the loss its training step reports.", VAE, "vae", vae_inputs, vae_beta_run,
         vae_beta_judge),
    Item("vae.kl_present", 1, "The VAE's loss contains the KL term: moving z_mean away from 0 "
         "raises it by the KL, and the training step follows the KL's gradient.", VAE, "vae",
         vae_inputs, vae_kl_run, vae_kl_judge),
    Item("vae.samples_z", 2, "In training and inference alike the VAE decodes a sample "
         "z ~ q(z|x), not z_mean, and its loss is the negative ELBO at that sample.",
         ("build_vae", "Sampling", "reparameterize", "gaussian_nll"), "vae", vae_samples_inputs,
         vae_samples_run, vae_samples_judge),
    Item("vae.learning_rate", 1, "build_vae's optimizer stores the learning_rate it is given, "
         "and its training step depends on the rate through the stored rate alone.",
         ("build_vae",), "vae", vae_inputs, vae_learning_rate_run, vae_learning_rate_judge),
    Item("vae.fit_lowers_loss", 2, "The VAE's training step descends the negative ELBO alone "
         "(its first step moves against the ELBO's gradient, and the loss it reports ignores the "
         "weights the ELBO ignores); three epochs on 1,000 MNIST digits lower it on held-out "
         "digits, where evaluate reports the negative ELBO of its own encoder and decoder.",
         VAE + ("build_encoder", "build_decoder"), "fit", fit_inputs, fit_run, fit_judge),
]
