"""Graded: the encoder, the decoder and the assembled VAE (the reference's `models.py`).

Pixel counts, hidden sizes, latent sizes, `beta`, `sigma` and the learning rate come from the
grading seed, so every argument of the contract decides an outcome.
"""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_pair, expect_shape


def _hidden(rng, count):
    return [int(size) for size in rng.choice(np.arange(11, 48), size=count, replace=False)]


def encoder_config(rng):
    return {"num_pixels": int(rng.choice([n for n in range(40, 300) if n != 784])),
            "latent_dims": [1, int(rng.integers(2, 9))], "hidden_units": _hidden(rng, 2),
            "image_shape": [int(rng.integers(2, 5)) * 4, int(rng.integers(2, 5)) * 4,
                            int(rng.integers(1, 4))]}


def decoder_config(rng):
    config = encoder_config(rng)
    return dict(config, latent_dim=config["latent_dims"][1])


def vae_config(rng):
    rate = float(np.round(rng.uniform(1e-4, 5e-3), 6))
    return {"num_pixels": int(rng.choice([n for n in range(60, 300) if n != 784])),
            "latent_dim": int(rng.integers(2, 6)),
            "sigma": float(np.round(rng.uniform(0.3, 0.9), 3)),
            "beta": float(np.round(rng.uniform(0.2, 0.8), 3)),
            "learning_rates": [rate, float(np.round(rate * rng.uniform(2.0, 4.0), 7))]}


def fit_config(rng):
    return {"num_pixels": 784, "latent_dim": 4, "hidden_units": [64]}


CONFIGS = {"encoder": encoder_config, "decoder": decoder_config, "vae": vae_config,
           "fit": fit_config}


def encoder_inputs(rng, config):
    return {"x": rng.uniform(size=(64, config["num_pixels"])).astype(np.float32),
            "weights_seed": int(rng.integers(2**31))}


def _expect_model(facts, what):
    assert facts.get("is_model") is True, (
        f"{what}: expected a keras.Model, received {facts.get('type')}.")


def encoder_outputs_run(graphs, inputs):
    observed = {"outputs": graphs.call("main", inputs["x"][:3]),
                "network": _network(graphs, "main", inputs["x"][:8])}
    observed["set"] = _set_weights_run(graphs, "main", inputs["x"][:3], inputs["weights_seed"])
    return observed


def encoder_outputs_judge(inputs, observed):
    _expect_model(observed["facts"], "build_encoder")
    _expect_network(observed["network"], "build_encoder", inputs["num_pixels"])
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder(x)")
    expected = (3, inputs["latent_dims"][1])
    expect_shape(z_mean, expected, "z_mean")
    expect_shape(z_log_var, expected, "z_log_var")
    assert not np.allclose(array(z_mean, "z_mean"), array(z_log_var, "z_log_var")), (
        "z_mean and z_log_var: expected two heads with their own weights, received equal "
        "values.\nLikely mistake: one Dense layer used for both outputs; the mean and the "
        "log-variance each need a Dense(latent_dim) of their own.")
    d = inputs["latent_dims"][1]
    _expect_biases(observed["set"], "build_encoder", [(d,), (d,)])


def encoder_latent_run(graphs, inputs):
    observed = {name: graphs.call(name, inputs["x"][:2]) for name in ("latent_one", "latent_d")}
    observed["network"] = {name: _network(graphs, name, inputs["x"][:8])
                           for name in ("latent_one", "latent_d")}
    observed["set"] = {name: _set_weights_run(graphs, name, inputs["x"][:2], inputs["weights_seed"])
                       for name in ("latent_one", "latent_d")}
    return observed


def encoder_latent_judge(inputs, observed):
    for name, latent_dim in zip(("latent_one", "latent_d"), inputs["latent_dims"]):
        _expect_network(observed["network"][name], f"build_encoder with latent_dim="
                        f"{latent_dim}", inputs["num_pixels"])
        _expect_biases(observed["set"][name], f"build_encoder with latent_dim={latent_dim}",
                       [(latent_dim,), (latent_dim,)])
        z_mean, z_log_var = expect_pair(observed[name], "encoder(x)")
        expect_shape(z_mean, (2, latent_dim), f"z_mean with latent_dim={latent_dim}")
        expect_shape(z_log_var, (2, latent_dim), f"z_log_var with latent_dim={latent_dim}")


def _gradients_reach(graphs, name, x):
    """Which of the archive's variables the sum of its outputs depends on."""
    import tensorflow as tf

    model, variables = graphs.load(name), graphs.variables(name)
    with tf.GradientTape() as tape:
        outputs = model.call(tf.constant(x))
        total = tf.add_n([tf.reduce_sum(o * o) for o in tf.nest.flatten(outputs)])
    gradients = tape.gradient(total, variables)
    return [g is not None and bool(tf.reduce_any(g != 0)) for g in gradients]


def _network(graphs, name, x):
    """What runs tell of the archive's network: its weights, whether each takes part in the
    output, and whether the output follows the input (rows reversed in, rows reversed out)."""
    forward, backward = graphs.call(name, x), graphs.call(name, x[::-1])
    return {"shapes": [list(shape) for shape in graphs.trainable_shapes(name)],
            "listed": [list(v.shape) for v in graphs.variables(name) if v.trainable],
            "reached": _gradients_reach(graphs, name, x), "forward": forward,
            "backward": backward}


def _expect_network(network, what, width=None):
    """Asserts the model computes its outputs from its input with weights that all take part;
    `width`: the input width a first Dense kernel must take, for flat inputs."""
    listed = network["listed"]
    unlisted = {tuple(s) for s in network["shapes"]} - {tuple(s) for s in listed}
    assert listed and not unlisted and all(network["reached"]), (
        f"{what}: expected a network whose every weight takes part in its output, received "
        f"{len(listed)} weights{', some unused' if listed else ''}.\nLikely mistake: outputs "
        "computed without the model's layers, or layers built but not used.")
    assert width is None or any(len(s) == 2 and s[0] == width for s in listed), (
        f"{what}: expected a Dense layer on the {width} input features, received weights of "
        f"shapes {[tuple(s) for s in listed]}.")
    forward = [np.asarray(o, np.float64) for o in (
        network["forward"] if isinstance(network["forward"], list) else [network["forward"]])]
    backward = [np.asarray(o, np.float64) for o in (
        network["backward"] if isinstance(network["backward"], list) else [network["backward"]])]
    follows = all(f.shape == b.shape and np.allclose(f[::-1], b, rtol=1e-4, atol=1e-5)
                  for f, b in zip(forward, backward))
    varies = any(f.ndim and len(f) > 1 and np.ptp(f.reshape(len(f), -1), axis=0).max() > 1e-6
                 for f in forward)
    assert follows and varies, (
        f"{what}: expected outputs computed from each example's input (the same rows in reverse "
        "order give the same outputs in reverse order, and different inputs differ), received "
        "outputs that do not follow the input.\nLikely mistake: outputs that ignore x.")


def _set_weights_run(graphs, name, x, seed):
    """Sets every kernel of the archive to 0 and every bias to grader-chosen values, then runs
    it: a network's outputs are then its output layers' biases (through their activation),
    whatever its hidden activations."""
    rng = np.random.default_rng(seed)
    biases = []
    for variable in graphs.variables(name):
        if not variable.trainable:
            continue
        if len(variable.shape) >= 2:
            variable.assign(np.zeros(variable.shape, np.float32))
        else:
            value = rng.uniform(-2, 2, size=variable.shape).astype(np.float32)
            variable.assign(value)
            biases.append(value.astype(np.float64))
    return {"outputs": graphs.call(name, x), "biases": biases}


def _identity(values):
    return values


def _expect_biases(observed, what, widths, activation=_identity):
    """Asserts each output equals one bias of its width (through `activation`), broadcast over
    the batch; `widths`: the outputs' trailing shapes, as tuples."""
    outputs = observed["outputs"] if isinstance(observed["outputs"], list) else [
        observed["outputs"]]
    biases = [np.asarray(b, np.float64) for b in observed["biases"]]
    candidates = [activation(b) for b in biases] + [
        activation(half) for b in biases if len(b) % 2 == 0 for half in np.split(b, 2)]
    for output, width in zip(outputs, widths):
        output = np.asarray(output, np.float64)
        flat = output.reshape(len(output), -1)
        size = int(np.prod(width))
        ok = any(np.allclose(flat, c if c.size == size else np.broadcast_to(c, width).reshape(-1),
                             rtol=1e-4, atol=1e-5)
                 for c in candidates if c.size in (size, width[-1]) and flat.shape[1] == size)
        assert output.shape[1:] == tuple(width) and ok, (
            f"{what} with every kernel set to 0 and the biases to chosen values: expected the "
            f"output layer's bias{' through a sigmoid' if activation is not _identity else ''} "
            f"in every row, received other values (first row {np.round(flat[0][:4], 4)}).\n"
            "Likely mistake: outputs that do not come from the model's own output layers, or "
            "an activation on a head that should be linear.")


def hidden_run(graphs, inputs, x):
    return {"shapes": [list(shape) for shape in graphs.trainable_shapes("hidden")],
            "listed": [list(v.shape) for v in graphs.variables("hidden") if v.trainable],
            "reached": _gradients_reach(graphs, "hidden", x),
            "set": _set_weights_run(graphs, "hidden", x[:2], inputs["weights_seed"])}


def encoder_hidden_run(graphs, inputs):
    return hidden_run(graphs, inputs, inputs["x"][:8])


def _dense_path(kernels, start, sizes):
    """Removes the kernels of a chain `start -> sizes[0] -> ...` from `kernels`; whether found."""
    current = start
    for size in sizes:
        if [current, size] not in kernels:
            return False
        kernels.remove([current, size])
        current = size
    return True


def _hidden_judge(name, first, last):
    def judge(inputs, observed):
        wanted = inputs["hidden_units"]
        start, end = first(inputs), last(inputs)
        listed = [list(s) for s in observed["listed"]]
        kernels = [s for s in listed if len(s) == 2]
        unlisted = {tuple(s) for s in observed["shapes"]} - {tuple(s) for s in listed}
        assert not unlisted and all(observed["reached"]), (
            f"{name}(..., hidden_units={wanted}): expected every weight of the model to take "
            "part in its output, received weights that the output does not depend on.\n"
            "Likely mistake: layers built but not used on the path from input to output.")
        if name == "build_encoder":
            d = inputs["latent_dims"][1]
            _expect_biases(observed["set"], name, [(d,), (d,)])
        else:
            _expect_biases(observed["set"], name, [(end,)], witness.sigmoid)
        found = list(kernels)
        if _dense_path(found, start, wanted) and _heads(found, wanted[-1], end):
            return
        reverse = list(kernels)
        if _dense_path(reverse, start, wanted[::-1]) and _heads(reverse, wanted[0], end):
            hint = "the hidden layers are in reverse order: hidden_units lists them from the input."
        elif any(s[0] == start for s in kernels) and len(kernels) != len(wanted) + 1 + (
                name == "build_encoder"):
            hint = (f"one hidden Dense layer per entry of hidden_units is expected "
                    f"({len(wanted)} here), received {len(kernels)} weight matrices.")
        else:
            hint = "hidden_units is ignored (sizes written into the code)."
        raise AssertionError(
            f"{name}(..., hidden_units={wanted}): expected Dense layers of {wanted} units in "
            f"this order between {start} inputs and {end} outputs, received weight matrices of "
            f"shapes {[tuple(k) for k in kernels]}.\nLikely mistake: {hint}")
    return judge


def _heads(kernels, width, total):
    """The remaining kernels are output heads from `width` units, `total` outputs together."""
    return bool(kernels) and all(k[0] == width for k in kernels) and sum(
        k[1] for k in kernels) == total


def encoder_signed_run(graphs, inputs):
    return {"outputs": graphs.call("main", inputs["x"] * 4.0),
            "network": _network(graphs, "main", inputs["x"][:8]),
            "set": _set_weights_run(graphs, "main", inputs["x"][:2], inputs["weights_seed"])}


def encoder_signed_judge(inputs, observed):
    _expect_network(observed["network"], "build_encoder", inputs["num_pixels"])
    d = inputs["latent_dims"][1]
    _expect_biases(observed["set"], "build_encoder", [(d,), (d,)])
    _, z_log_var = expect_pair(observed["outputs"], "encoder(x)")
    z_log_var = array(z_log_var, "z_log_var")
    assert z_log_var.size and np.min(z_log_var) < 0 < np.max(z_log_var), (
        f"z_log_var: expected values of both signs, received [{np.min(z_log_var):.4f}, "
        f"{np.max(z_log_var):.4f}].\nLikely mistake: a ReLU (or softplus, or a negated ReLU) on "
        "the log-variance head; log(sigma**2) < 0 whenever sigma < 1, so the head must be "
        "linear.")


def encoder_unbounded_run(graphs, inputs):
    for variable in graphs.variables("main"):
        if variable.trainable:
            variable.assign(variable * 100.0)
    return {"outputs": graphs.call("main", inputs["x"] - 0.5)}


def encoder_unbounded_judge(inputs, observed):
    outputs = expect_pair(observed["outputs"], "encoder(x)")
    for name, value in zip(("z_mean", "z_log_var"), outputs):
        value = array(value, name)
        assert value.size and value.max() > 5 and value.min() < -5, (
            f"{name} with every weight scaled by 100: expected values beyond -5 and +5, "
            f"received [{value.min():.3f}, {value.max():.3f}].\nLikely mistake: a squashing or "
            f"one-sided activation (tanh, sigmoid, relu) on the {name} head; posterior means "
            "and log-variances are unbounded, so the heads are linear.")


def encoder_image_run(graphs, inputs):
    shape = tuple(inputs["image_shape"])
    images = np.random.default_rng(0).uniform(size=(8,) + shape).astype(np.float32)
    return {"outputs": graphs.call("image", np.zeros((2,) + shape, np.float32)),
            "network": _network(graphs, "image", images),
            "set": _set_weights_run(graphs, "image", images[:2], inputs["weights_seed"])}


def encoder_image_judge(inputs, observed):
    _expect_network(observed["network"], "build_encoder for images")
    d = inputs["latent_dims"][1]
    _expect_biases(observed["set"], "build_encoder for images", [(d,), (d,)])
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder(images)")
    d = inputs["latent_dims"][1]
    what = f"for images of shape {tuple(inputs['image_shape'])}"
    expect_shape(z_mean, (2, d), f"z_mean {what}")
    expect_shape(z_log_var, (2, d), f"z_log_var {what}")


def decoder_inputs(rng, config):
    return {"z": rng.normal(size=(16, config["latent_dim"])).astype(np.float32),
            "weights_seed": int(rng.integers(2**31))}


def decoder_flat_run(graphs, inputs):
    observed = {"output": graphs.call("flat", inputs["z"][:3]),
                "network": _network(graphs, "flat", inputs["z"][:8])}
    observed["set"] = _set_weights_run(graphs, "flat", inputs["z"][:3], inputs["weights_seed"])
    return observed


def decoder_flat_judge(inputs, observed):
    _expect_model(observed["facts"], "build_decoder")
    _expect_network(observed["network"], "build_decoder", inputs["latent_dim"])
    expect_shape(observed["output"], (3, inputs["num_pixels"]), "decoder output")
    _expect_biases(observed["set"], "build_decoder (Bernoulli)", [(inputs["num_pixels"],)],
                   witness.sigmoid)


def decoder_image_run(graphs, inputs):
    observed = {"output": graphs.call("image", inputs["z"][:3]),
                "network": _network(graphs, "image", inputs["z"][:8])}
    observed["set"] = _set_weights_run(graphs, "image", inputs["z"][:3], inputs["weights_seed"])
    return observed


def decoder_image_judge(inputs, observed):
    _expect_network(observed["network"], "build_decoder for an image shape", inputs["latent_dim"])
    expect_shape(observed["output"], (3,) + tuple(inputs["image_shape"]),
                 "decoder output for an image shape")
    _expect_biases(observed["set"], "build_decoder for an image shape",
                   [tuple(inputs["image_shape"])], witness.sigmoid)


def decoder_range_run(graphs, inputs):
    far = {"far": graphs.call("range", 15.0 * inputs["z"]),
           "network": _network(graphs, "range", inputs["z"][:8])}
    for variable in graphs.variables("range"):
        if variable.trainable:
            variable.assign(variable * 30.0)
    far["scaled"] = graphs.call("range", inputs["z"])
    far["set"] = _set_weights_run(graphs, "range", inputs["z"][:2], inputs["weights_seed"])
    return far


def decoder_range_judge(inputs, observed):
    _expect_network(observed["network"], "build_decoder", inputs["latent_dim"])
    _expect_biases(observed["set"], "build_decoder (Bernoulli)", [(inputs["num_pixels"],)],
                   witness.sigmoid)
    for key, what in (("far", "far-out z"), ("scaled", "every weight scaled by 30")):
        probs = array(observed[key], "decoder output")
        assert probs.size and probs.min() >= 0.0 and probs.max() <= 1.0, (
            f"Bernoulli probabilities for {what}: expected values in [0, 1], received "
            f"[{probs.min():.3f}, {probs.max():.3f}].\nLikely mistake: no sigmoid on the "
            "output layer.")
    probs = array(observed["scaled"], "decoder output")
    assert probs.min() < 0.05 and probs.max() > 0.95, (
        f"Bernoulli probabilities with every weight scaled by 30: expected values near both 0 "
        f"and 1, received [{probs.min():.3f}, {probs.max():.3f}].\nLikely mistake: the "
        "sigmoid's input cannot go below (or above) 0, e.g. a ReLU before the sigmoid, so "
        "probabilities stay on one side of one half.")


def decoder_hidden_run(graphs, inputs):
    return hidden_run(graphs, inputs, inputs["z"][:8])


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
    expected = witness.bernoulli_nll(x, probs).mean() + witness.kl_divergence(z_mean, z_log_var).mean()
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
    received = float(array(observed["scaled_loss"], "loss")) - float(array(observed["loss"], "loss"))
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
    return float(witness.bernoulli_nll(x, probs).mean() + witness.kl_divergence(z_mean, z_log_var).mean())


def fit_judge(inputs, observed):
    before = float(array(observed["before"], "loss"))
    after = float(array(observed["after"], "loss"))
    assert np.isfinite(after) and after < 0.8 * before, (
        f"Negative ELBO after 3 epochs of the VAE's training step: expected below 80% of "
        f"{before:.1f}, received {after:.1f}.\nLikely mistake: gradients do not reach the "
        "weights, or the loss has the wrong sign.")


VAE = ("build_vae", "KLDivergenceLayer", "Sampling", "kl_divergence", "bernoulli_nll",
       "reparameterize")


def _pixels(inputs):
    return inputs["num_pixels"]


def _latent(inputs):
    return inputs["latent_dims"][1] * 2 if "latent_dims" in inputs else inputs["latent_dim"]


ITEMS = [
    Item("encoder.outputs", 1, "build_encoder returns a keras.Model mapping x to "
         "[z_mean, z_log_var], from two heads.", ("build_encoder",), "encoder", encoder_inputs,
         encoder_outputs_run, encoder_outputs_judge),
    Item("encoder.latent_dim", 1, "build_encoder respects latent_dim, 1 included.",
         ("build_encoder",), "encoder", encoder_inputs, encoder_latent_run, encoder_latent_judge),
    Item("encoder.hidden_units", 1, "build_encoder has one hidden Dense layer per entry of "
         "hidden_units, in order from x, each used.", ("build_encoder",), "encoder",
         encoder_inputs, encoder_hidden_run, _hidden_judge("build_encoder", _pixels, _latent)),
    Item("encoder.log_var_signed", 1, "The z_log_var head is unconstrained: a log-variance "
         "can be negative.", ("build_encoder",), "encoder", encoder_inputs, encoder_signed_run,
         encoder_signed_judge),
    Item("encoder.heads_unbounded", 1, "Neither posterior head squashes its output: z_mean and "
         "z_log_var grow with the weights, in both directions.", ("build_encoder",), "encoder",
         encoder_inputs, encoder_unbounded_run, encoder_unbounded_judge),
    Item("encoder.image_input", 1, "build_encoder accepts (height, width, channels) images.",
         ("build_encoder",), "encoder", encoder_inputs, encoder_image_run, encoder_image_judge),
    Item("decoder.flat_output", 1, "build_decoder returns a keras.Model mapping z to "
         "(batch_size, D) for D pixels.", ("build_decoder",), "decoder", decoder_inputs,
         decoder_flat_run, decoder_flat_judge),
    Item("decoder.image_output", 1, "build_decoder produces (batch_size,) + output_shape for "
         "an image shape.", ("build_decoder",), "decoder", decoder_inputs, decoder_image_run,
         decoder_image_judge),
    Item("decoder.bernoulli_range", 1, "A Bernoulli decoder outputs probabilities in [0, 1] "
         "that reach both ends, even for far-out z.", ("build_decoder",), "decoder",
         decoder_inputs, decoder_range_run, decoder_range_judge),
    Item("decoder.hidden_units", 1, "build_decoder has one hidden Dense layer per entry of "
         "hidden_units, in order from z, each used.", ("build_decoder",), "decoder",
         decoder_inputs, decoder_hidden_run,
         _hidden_judge("build_decoder", lambda inputs: inputs["latent_dim"], _pixels)),
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
