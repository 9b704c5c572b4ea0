"""Graded: `build_vae`, its losses, its sampling, its optimizer and its fit (the reference's
`models.py`)."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_shape


def vae_config(rng):
    rate = float(np.round(rng.uniform(1e-4, 5e-3), 6))
    return {"num_pixels": int(rng.choice([n for n in range(60, 300) if n != 784])),
            "latent_dim": int(rng.integers(2, 6)),
            "sigma": float(np.round(rng.uniform(0.3, 0.9), 3)),
            "beta": float(np.round(rng.uniform(0.2, 0.8), 3)),
            "learning_rates": [rate, float(np.round(rate * rng.uniform(2.0, 4.0), 7))]}


def fit_config(rng):
    return {"num_pixels": 784, "latent_dim": 4, "hidden_units": [64]}


LOG_VAR = -30.0  # z equals z_mean to 1e-6, so the sampled loss has a closed form


def vae_inputs(rng, config):
    """Known encoder and decoder weights, so that the loss has a float64 closed form."""
    n, d = config["num_pixels"], config["latent_dim"]
    return {"enc_kernel": rng.normal(scale=0.05, size=(n, d)),
            "dec_kernel": rng.normal(scale=0.05, size=(d, n)),
            "dec_bias": rng.normal(scale=0.5, size=n),
            "x_binary": (rng.uniform(size=(32, n)) < 0.3).astype(np.float32),
            "x_soft": rng.uniform(size=(32, n)).astype(np.float32)}


def _probe_weights(inputs, decoder_scale=1.0):
    """The probe models' weights by shape (`exports.probe_models`)."""
    n, d = inputs["enc_kernel"].shape
    return {(n, d): inputs["enc_kernel"], (d, d): np.zeros((d, d)), (d,): np.full(d, LOG_VAR),
            (d, n): decoder_scale * inputs["dec_kernel"], (n,): inputs["dec_bias"]}


def _forward(inputs, x, gaussian=False, decoder_scale=1.0):
    z_mean = np.float64(x) @ inputs["enc_kernel"]
    logits = z_mean @ (decoder_scale * inputs["dec_kernel"]) + inputs["dec_bias"]
    return z_mean, np.full_like(z_mean, LOG_VAR), logits if gaussian else witness.sigmoid(logits)


def _evaluated(graphs, name, x, y=None):
    logs = graphs.call(name, x, x if y is None else y, endpoint="test_step")
    assert isinstance(logs, dict) and "loss" in logs, (
        f"vae.evaluate: expected a `loss` among the reported metrics, received "
        f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}.")
    return logs["loss"]


def vae_compiled_run(graphs, inputs):
    return {"output": graphs.call("bernoulli", inputs["x_binary"][:3])}


def vae_compiled_judge(inputs, observed):
    facts = observed["facts"]
    assert facts.get("is_model") is True and facts.get("compiled") is True, (
        f"Expected a compiled keras.Model, received {facts.get('type')} "
        f"(compiled={facts.get('compiled')}).")
    assert facts.get("encoder_is") is True and facts.get("decoder_is") is True, (
        "Expected vae.encoder and vae.decoder to be the models passed in.")
    expect_shape(observed["output"], (3, inputs["x_binary"].shape[1]), "vae(x)")


def vae_bernoulli_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", _probe_weights(inputs))
    return {"loss": _evaluated(graphs, "bernoulli", inputs["x_binary"])}


def vae_bernoulli_judge(inputs, observed):
    x = inputs["x_binary"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, "vae.evaluate loss (Bernoulli, beta=1)",
                 "compile with loss=bernoulli_nll (summed over pixels, not 'mse' nor keras' "
                 "averaged binary_crossentropy) and add the KL with KLDivergenceLayer.",
                 rtol=1e-4, atol=1e-2)


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
                 "and pass sigma on.", rtol=1e-4, atol=1e-2)


def vae_beta_run(graphs, inputs):
    graphs.set_by_shape("beta", _probe_weights(inputs))
    return {"loss": _evaluated(graphs, "beta", inputs["x_binary"])}


def vae_beta_judge(inputs, observed):
    x, beta = inputs["x_binary"], inputs["beta"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + beta * witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (beta={beta})",
                 "pass beta to KLDivergenceLayer(beta).", rtol=1e-4, atol=1e-2)


def vae_kl_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", _probe_weights(inputs, decoder_scale=0.0))
    x = inputs["x_binary"]
    return {"loss": _evaluated(graphs, "bernoulli", x),
            "scaled_loss": _evaluated(graphs, "bernoulli", 3.0 * x, x)}


def vae_kl_judge(inputs, observed):
    x = inputs["x_binary"]
    z_mean, z_log_var, _ = _forward(inputs, x, decoder_scale=0.0)
    z_mean3, _, _ = _forward(inputs, 3.0 * x, decoder_scale=0.0)
    # The decoder ignores z, so only the KL differs between the two inputs.
    expected = (witness.kl_divergence(z_mean3, z_log_var).mean()
                - witness.kl_divergence(z_mean, z_log_var).mean())
    received = (float(array(observed["scaled_loss"], "loss"))
                - float(array(observed["loss"], "loss")))
    expect_close(received, expected, "loss difference due to the KL term",
                 "the KL divergence is missing from the loss: the model needs a "
                 "KLDivergenceLayer on [z_mean, z_log_var].", rtol=1e-3, atol=1e-2)


def vae_samples_inputs(rng, config):
    return {"z_mean": rng.uniform(-2, 2, size=2), "variance": rng.uniform(2.0, 6.0, size=2)}


def vae_samples_run(graphs, inputs):
    # x = 1 and z_mean = x @ A: the first row of A is z_mean; z_log_var is the bias.
    encoder_kernel = np.zeros((3, 2))
    encoder_kernel[0] = inputs["z_mean"]
    graphs.set_by_shape("samples", {(3, 2): encoder_kernel, (2, 2): np.zeros((2, 2)),
                                    (2,): np.log(inputs["variance"]), (2, 3): np.eye(2, 3),
                                    (3,): np.zeros(3)})
    return {"samples": graphs.call("samples", np.ones((5000, 3), np.float32),
                                   endpoint="call_training")}


def vae_samples_judge(inputs, observed):
    samples = array(observed["samples"], "vae(x, training=True)")
    expect_shape(samples, (5000, 3), "vae(x, training=True) with an identity decoder")
    samples = samples[:, :2]
    std, expected_std = samples.std(axis=0), np.sqrt(inputs["variance"])
    assert np.all(np.abs(std - expected_std) < 0.06 * expected_std), (
        f"Spread of decoded z (identity decoder): expected standard deviation "
        f"{np.round(expected_std, 3)}, received {np.round(std, 3)}.\nLikely mistake: the "
        "decoder is fed z_mean (std 0) instead of the Sampling layer's z, or the variance is "
        "used as the standard deviation.")
    expect_close(samples.mean(axis=0), inputs["z_mean"], "mean of decoded z",
                 "z must be centred on z_mean.", rtol=0, atol=0.1 * expected_std.max())


def vae_learning_rate_run(graphs, inputs):
    steps = {}
    for name in ("rate_a", "rate_b"):
        weights = _probe_weights(inputs)
        graphs.set_by_shape(name, weights)
        graphs.call(name, inputs["x_binary"], inputs["x_binary"], endpoint="train_step")
        kernel = next(v for v in graphs.variables(name)
                      if tuple(v.shape) == inputs["enc_kernel"].shape)
        steps[name] = np.abs(kernel.numpy() - inputs["enc_kernel"]).max()
    return steps


def vae_learning_rate_judge(inputs, observed):
    rate_a, rate_b = inputs["learning_rates"]
    step_a, step_b = float(observed["rate_a"]), float(observed["rate_b"])
    assert step_a > 0, ("The first training step changed no weight: expected a step of about "
                        f"learning_rate={rate_a}.\nLikely mistake: no optimizer, or gradients "
                        "do not reach the encoder.")
    expect_close(step_b / step_a, rate_b / rate_a, f"ratio of the first steps for learning "
                 f"rates {rate_b} and {rate_a}", "pass learning_rate to the optimizer, e.g. "
                 "keras.optimizers.Adam(learning_rate).", rtol=2e-2, atol=0)


def fit_inputs(rng, config):
    return {"rows": np.sort(rng.permutation(5000)[:1000]), "order": int(rng.integers(2**31))}


def fit_run(graphs, inputs):
    from keras_vae.data import embedded_sample_path

    with np.load(embedded_sample_path()) as data:
        x = data["x_train"][inputs["rows"]].reshape(-1, 784)
    x = (x > 127).astype(np.float32)
    # The negative ELBO is measured on a fresh copy of the model that receives the trained
    # weights only, so a model whose outputs follow a counter of its steps gains nothing.
    fresh = type(graphs)(graphs.folder)
    before = _elbo(fresh, x)
    order = np.random.default_rng(inputs["order"])
    for _ in range(3):
        for batch in np.array_split(order.permutation(len(x)), len(x) // 50):
            graphs.call("vae", x[batch], x[batch], endpoint="train_step")
    trained = [v for v in graphs.variables("vae") if v.trainable]
    copies = [v for v in fresh.variables("vae") if v.trainable]
    for variable, copy in zip(trained, copies):
        copy.assign(variable)
    return {"before": before, "after": _elbo(fresh, x)}


def _elbo(graphs, x):
    """The negative ELBO of the model on `x`, computed here from its encoder and decoder, with
    z drawn by NumPy."""
    z_mean, z_log_var = graphs.call("vae", x, endpoint="encoder")
    z = z_mean + np.exp(0.5 * z_log_var) * np.random.default_rng(0).normal(size=z_mean.shape)
    probs = np.clip(graphs.call("vae", z, endpoint="decoder"), 1e-7, 1 - 1e-7)
    return float(witness.bernoulli_nll(x, probs).mean()
                 + witness.kl_divergence(z_mean, z_log_var).mean())


def fit_judge(inputs, observed):
    before = float(array(observed["before"], "loss"))
    after = float(array(observed["after"], "loss"))
    assert np.isfinite(after) and after < 0.8 * before, (
        f"Negative ELBO after 3 epochs of the VAE's training step: expected below 80% of "
        f"{before:.1f}, received {after:.1f}.\nLikely mistake: gradients do not reach the "
        "weights, or the loss has the wrong sign.")


VAE = ("build_vae", "KLDivergenceLayer", "Sampling", "kl_divergence", "bernoulli_nll",
       "reparameterize")


ITEMS = [
    Item("vae.compiled", 1, "build_vae returns a compiled keras.Model with .encoder, .decoder "
         "and x-shaped output.", ("build_vae",), "vae", vae_inputs, vae_compiled_run,
         vae_compiled_judge),
    Item("vae.bernoulli_loss", 3, "The VAE's loss is mean(bernoulli_nll) + mean(KL) for "
         "likelihood='bernoulli'.", VAE, "vae", vae_inputs, vae_bernoulli_run,
         vae_bernoulli_judge),
    Item("vae.gaussian_loss", 2, "The VAE's loss is mean(gaussian_nll with sigma) + mean(KL) "
         "for likelihood='gaussian'.", VAE[:5] + ("gaussian_nll", "reparameterize"), "vae",
         vae_inputs, vae_gaussian_run, vae_gaussian_judge),
    Item("vae.beta", 1, "With beta the VAE's loss is mean(nll) + beta * mean(KL).", VAE, "vae",
         vae_inputs, vae_beta_run, vae_beta_judge),
    Item("vae.kl_present", 1, "The VAE's loss contains the KL term: moving z_mean away from 0 "
         "raises it by the KL.", VAE, "vae", vae_inputs, vae_kl_run, vae_kl_judge),
    Item("vae.samples_z", 2, "In training the VAE decodes a sample z ~ q(z|x), not z_mean.",
         ("build_vae", "Sampling", "reparameterize", "gaussian_nll"), "vae", vae_samples_inputs,
         vae_samples_run, vae_samples_judge),
    Item("vae.learning_rate", 1, "build_vae's optimizer steps in proportion to the "
         "learning_rate it is given.", ("build_vae",), "vae", vae_inputs, vae_learning_rate_run,
         vae_learning_rate_judge),
    Item("vae.fit_lowers_loss", 2, "Three epochs of the VAE's training step on 1,000 embedded "
         "MNIST digits lower its negative ELBO.", VAE + ("build_encoder", "build_decoder"), "fit",
         fit_inputs, fit_run, fit_judge),
]
