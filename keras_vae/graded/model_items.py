"""Graded: the KL layer, the encoder, the decoder and the assembled VAE.

Pixel counts, hidden sizes, latent sizes, `beta`, `sigma` and the learning rate come from the
grading seed, so every argument of the contract decides an outcome.
"""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.rubric import Item
from keras_vae.graded.witness import array, expect_close, expect_pair, expect_shape


def _posterior(rng):
    batch_size, latent_dim = int(rng.integers(4, 9)), int(rng.integers(1, 6))
    return {"z_mean": rng.normal(size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(size=(batch_size, latent_dim)).astype(np.float32),
            "beta": float(np.round(rng.uniform(0.1, 0.9), 3))}


def _added_loss(layer, values):
    import tensorflow as tf

    outputs = layer([tf.constant(v) for v in values])
    return {"outputs": list(outputs) if isinstance(outputs, (list, tuple)) else outputs,
            "losses": [loss for loss in layer.losses]}


def _total(observed, what):
    losses = observed["losses"]
    assert isinstance(losses, list), f"{what}: expected layer.losses to be a list."
    return float(sum(np.sum(array(loss, what)) for loss in losses))


def kl_layer_probe(impl, inputs):
    pair = [inputs["z_mean"], inputs["z_log_var"]]
    repeated = [np.tile(value, (4, 1)) for value in pair]
    return {"default": _added_loss(impl.KLDivergenceLayer(), pair),
            "beta": _added_loss(impl.KLDivergenceLayer(beta=inputs["beta"]), pair),
            "repeated": _added_loss(impl.KLDivergenceLayer(), repeated)}


def kl_layer_identity_judge(inputs, observed):
    outputs = expect_pair(observed["default"]["outputs"], "KLDivergenceLayer output")
    expect_close(outputs[0], inputs["z_mean"], "KLDivergenceLayer output 0",
                 "return the inputs as they are.")
    expect_close(outputs[1], inputs["z_log_var"], "KLDivergenceLayer output 1",
                 "return the inputs as they are.")


def kl_layer_mean_judge(inputs, observed):
    expect_close(_total(observed["default"], "sum of layer.losses"),
                 witness.kl_divergence(inputs["z_mean"], inputs["z_log_var"]).mean(),
                 "sum of layer.losses", "self.add_loss(beta * mean(kl)) must be called in "
                 "call(); 0 means nothing was added, batch_size times too much means the batch "
                 "was summed instead of averaged.")


def kl_layer_beta_judge(inputs, observed):
    beta = inputs["beta"]
    expect_close(_total(observed["beta"], "added loss"),
                 beta * witness.kl_divergence(inputs["z_mean"], inputs["z_log_var"]).mean(),
                 f"added loss with beta={beta}", "multiply the KL by beta before add_loss.")


def kl_layer_batch_judge(inputs, observed):
    expect_close(_total(observed["repeated"], "added loss"), _total(observed["default"], "added"),
                 "added loss for the batch repeated 4 times",
                 "Keras 3 sums a non-scalar added loss: add the batch mean, not the sum.")


def _hidden(rng, count):
    return [int(size) for size in rng.choice(np.arange(11, 48), size=count, replace=False)]


def encoder_inputs(rng):
    num_pixels = int(rng.choice([n for n in range(40, 300) if n != 784]))
    return {"num_pixels": num_pixels, "latent_dims": [1, int(rng.integers(2, 9))],
            "hidden_units": _hidden(rng, 2),
            "image_shape": [int(rng.integers(2, 5)) * 4, int(rng.integers(2, 5)) * 4,
                            int(rng.integers(1, 4))],
            "x": rng.uniform(size=(64, num_pixels)).astype(np.float32)}


def _dense_units(model):
    """The `units` of every layer inside `model`, in the order Keras tracks them."""
    return [layer.units for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(getattr(layer, "units", None), int)]


def _model_facts(model):
    import keras

    return {"is_model": isinstance(model, keras.Model), "type": type(model).__name__}


def _expect_model(facts, what):
    assert facts["is_model"], f"{what}: expected a keras.Model, received {facts['type']}."


def encoder_outputs_probe(impl, inputs):
    encoder = impl.build_encoder((inputs["num_pixels"],), inputs["latent_dims"][1])
    return dict(_model_facts(encoder), outputs=encoder.predict(inputs["x"][:3], verbose=0))


def encoder_outputs_judge(inputs, observed):
    _expect_model(observed, "build_encoder")
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder.predict(x)")
    expected = (3, inputs["latent_dims"][1])
    expect_shape(z_mean, expected, "z_mean")
    expect_shape(z_log_var, expected, "z_log_var")
    assert not np.allclose(array(z_mean, "z_mean"), array(z_log_var, "z_log_var")), (
        "z_mean and z_log_var: expected two heads with their own weights, received equal "
        "values.\nLikely mistake: one Dense layer used for both outputs; the mean and the "
        "log-variance each need a Dense(latent_dim) of their own.")


def encoder_latent_probe(impl, inputs):
    outputs = {}
    for latent_dim in inputs["latent_dims"]:
        encoder = impl.build_encoder((inputs["num_pixels"],), latent_dim, hidden_units=(32, 16))
        outputs[str(latent_dim)] = encoder.predict(inputs["x"][:2], verbose=0)
    return outputs


def encoder_latent_judge(inputs, observed):
    for latent_dim in inputs["latent_dims"]:
        z_mean, z_log_var = expect_pair(observed[str(latent_dim)], "encoder.predict(x)")
        expect_shape(z_mean, (2, latent_dim), f"z_mean with latent_dim={latent_dim}")
        expect_shape(z_log_var, (2, latent_dim), f"z_log_var with latent_dim={latent_dim}")


def encoder_hidden_probe(impl, inputs):
    encoder = impl.build_encoder((inputs["num_pixels"],), 3, hidden_units=inputs["hidden_units"])
    encoder.predict(inputs["x"][:2], verbose=0)
    return {"units": _dense_units(encoder)}


def _hidden_judge(name):
    def judge(inputs, observed):
        wanted, units = inputs["hidden_units"], observed["units"]
        position = 0
        for size in units:
            if position < len(wanted) and size == wanted[position]:
                position += 1
        assert position == len(wanted), (
            f"{name}(..., hidden_units={wanted}): expected Dense layers of {wanted} units in "
            f"this order, received Dense layers of {units} units.\nLikely mistake: "
            "hidden_units is ignored (sizes written into the code) instead of one Dense layer "
            "per entry.")
    return judge


def encoder_signed_probe(impl, inputs):
    encoder = impl.build_encoder((inputs["num_pixels"],), 8)
    return {"outputs": encoder.predict(inputs["x"] * 4.0, verbose=0)}


def encoder_signed_judge(inputs, observed):
    _, z_log_var = expect_pair(observed["outputs"], "encoder.predict(x)")
    z_log_var = array(z_log_var, "z_log_var")
    assert z_log_var.size and np.min(z_log_var) < 0, (
        f"z_log_var: expected some negative values, received minimum {np.min(z_log_var):.4f}."
        "\nLikely mistake: a ReLU (or softplus) on the log-variance head; log(sigma**2) < 0 "
        "whenever sigma < 1, so the head must be linear.")


def encoder_unbounded_probe(impl, inputs):
    encoder = impl.build_encoder((inputs["num_pixels"],), 4)
    encoder.predict(inputs["x"][:2], verbose=0)
    for variable in encoder.trainable_variables:
        variable.assign(variable * 100.0)
    return {"outputs": encoder.predict(inputs["x"] - 0.5, verbose=0)}


def encoder_unbounded_judge(inputs, observed):
    outputs = expect_pair(observed["outputs"], "encoder.predict(x)")
    for name, value in zip(("z_mean", "z_log_var"), outputs):
        largest = np.max(np.abs(array(value, name)))
        assert largest > 5, (
            f"{name} with every weight scaled by 100: expected values beyond +-5, received at "
            f"most {largest:.3f} in size.\nLikely mistake: a squashing activation (tanh, "
            f"sigmoid) on the {name} head; posterior means and log-variances are unbounded, "
            "so the heads are linear.")


def encoder_image_probe(impl, inputs):
    shape = tuple(inputs["image_shape"])
    encoder = impl.build_encoder(shape, 4)
    return {"outputs": encoder.predict(np.zeros((2,) + shape, np.float32), verbose=0)}


def encoder_image_judge(inputs, observed):
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder.predict(images)")
    what = f"for images of shape {tuple(inputs['image_shape'])}"
    expect_shape(z_mean, (2, 4), f"z_mean {what}")
    expect_shape(z_log_var, (2, 4), f"z_log_var {what}")


def decoder_flat_probe(impl, inputs):
    decoder = impl.build_decoder(5, (inputs["num_pixels"],))
    return dict(_model_facts(decoder),
                output=decoder.predict(np.zeros((3, 5), np.float32), verbose=0))


def decoder_flat_judge(inputs, observed):
    _expect_model(observed, "build_decoder")
    expect_shape(observed["output"], (3, inputs["num_pixels"]), "decoder output")


def decoder_image_probe(impl, inputs):
    decoder = impl.build_decoder(5, tuple(inputs["image_shape"]))
    return {"output": decoder.predict(np.zeros((3, 5), np.float32), verbose=0)}


def decoder_image_judge(inputs, observed):
    expect_shape(observed["output"], (3,) + tuple(inputs["image_shape"]),
                 "decoder output for an image shape")


def decoder_range_probe(impl, inputs):
    decoder = impl.build_decoder(5, (inputs["num_pixels"],), likelihood="bernoulli")
    z = 30.0 * inputs["x"][:, :5] - 15.0
    return {"probs": decoder.predict(z, verbose=0)}


def decoder_range_judge(inputs, observed):
    probs = array(observed["probs"], "decoder output")
    assert probs.size and probs.min() >= 0.0 and probs.max() <= 1.0, (
        f"Bernoulli probabilities: expected values in [0, 1], received "
        f"[{probs.min():.3f}, {probs.max():.3f}].\nLikely mistake: no sigmoid on the output "
        "layer.")


def decoder_hidden_probe(impl, inputs):
    decoder = impl.build_decoder(3, (inputs["num_pixels"],), hidden_units=inputs["hidden_units"])
    decoder.predict(np.zeros((2, 3), np.float32), verbose=0)
    return {"units": _dense_units(decoder)}


def vae_inputs(rng):
    """Known encoder and decoder weights, so that the loss has a float64 closed form."""
    num_pixels = int(rng.choice([n for n in range(60, 300) if n != 784]))
    latent_dim = int(rng.integers(2, 6))
    return {"enc_kernel": rng.normal(scale=0.05, size=(num_pixels, latent_dim)),
            "dec_kernel": rng.normal(scale=0.05, size=(latent_dim, num_pixels)),
            "dec_bias": rng.normal(scale=0.5, size=num_pixels),
            "x_binary": (rng.uniform(size=(32, num_pixels)) < 0.3).astype(np.float32),
            "x_soft": rng.uniform(size=(32, num_pixels)).astype(np.float32),
            "sigma": float(np.round(rng.uniform(0.3, 0.9), 3)),
            "beta": float(np.round(rng.uniform(0.2, 0.8), 3)),
            "learning_rate": float(np.round(rng.uniform(1e-4, 5e-3), 6))}


LOG_VAR = -30.0  # z equals z_mean to 1e-6, so the sampled loss has a closed form


def _probe_models(inputs, gaussian=False, decoder_scale=1.0):
    import keras

    num_pixels, latent_dim = inputs["enc_kernel"].shape
    constant = keras.initializers.Constant
    x = keras.Input((num_pixels,))
    z_mean = keras.layers.Dense(latent_dim, kernel_initializer=constant(inputs["enc_kernel"]))(x)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros",
                                   bias_initializer=constant(LOG_VAR))(x)
    z = keras.Input((latent_dim,))
    out = keras.layers.Dense(num_pixels, activation=None if gaussian else "sigmoid",
                             kernel_initializer=constant(decoder_scale * inputs["dec_kernel"]),
                             bias_initializer=constant(inputs["dec_bias"]))(z)
    return keras.Model(x, [z_mean, z_log_var]), keras.Model(z, out)


def _forward(inputs, x, gaussian=False, decoder_scale=1.0):
    z_mean = np.float64(x) @ inputs["enc_kernel"]
    logits = z_mean @ (decoder_scale * inputs["dec_kernel"]) + inputs["dec_bias"]
    return z_mean, np.full_like(z_mean, LOG_VAR), logits if gaussian else witness.sigmoid(logits)


def _evaluated_loss(vae, x, y=None):
    return vae.evaluate(x, x if y is None else y, batch_size=len(x), verbose=0,
                        return_dict=True)["loss"]


def vae_compiled_probe(impl, inputs):
    encoder, decoder = _probe_models(inputs)
    vae = impl.build_vae(encoder, decoder)
    return dict(_model_facts(vae), compiled=bool(getattr(vae, "compiled", False)),
                encoder_is=getattr(vae, "encoder", None) is encoder,
                decoder_is=getattr(vae, "decoder", None) is decoder,
                output=vae(inputs["x_binary"][:3]))


def vae_compiled_judge(inputs, observed):
    assert observed["is_model"] and observed["compiled"], (
        f"Expected a compiled keras.Model, received {observed['type']} "
        f"(compiled={observed['compiled']}).")
    assert observed["encoder_is"] and observed["decoder_is"], (
        "Expected vae.encoder and vae.decoder to be the models passed in.")
    expect_shape(observed["output"], (3, inputs["x_binary"].shape[1]), "vae(x)")


def vae_bernoulli_probe(impl, inputs):
    return {"loss": _evaluated_loss(impl.build_vae(*_probe_models(inputs), "bernoulli"),
                                    inputs["x_binary"])}


def vae_bernoulli_judge(inputs, observed):
    x = inputs["x_binary"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = witness.bernoulli_nll(x, probs).mean() + witness.kl_divergence(z_mean, z_log_var).mean()
    expect_close(observed["loss"], expected, "vae.evaluate loss (Bernoulli, beta=1)",
                 "compile with loss=bernoulli_nll (summed over pixels, not 'mse' nor keras' "
                 "averaged binary_crossentropy) and add the KL with KLDivergenceLayer.",
                 rtol=1e-4, atol=1e-2)


def vae_gaussian_probe(impl, inputs):
    vae = impl.build_vae(*_probe_models(inputs, gaussian=True), likelihood="gaussian",
                         sigma=inputs["sigma"])
    return {"loss": _evaluated_loss(vae, inputs["x_soft"])}


def vae_gaussian_judge(inputs, observed):
    x, sigma = inputs["x_soft"], inputs["sigma"]
    z_mean, z_log_var, mean = _forward(inputs, x, gaussian=True)
    expected = (witness.gaussian_nll(x, mean, sigma).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (Gaussian, sigma={sigma})",
                 "build_vae must pick gaussian_nll(x, mean, sigma) when likelihood='gaussian' "
                 "and pass sigma on.", rtol=1e-4, atol=1e-2)


def vae_beta_probe(impl, inputs):
    vae = impl.build_vae(*_probe_models(inputs), beta=inputs["beta"])
    return {"loss": _evaluated_loss(vae, inputs["x_binary"])}


def vae_beta_judge(inputs, observed):
    x, beta = inputs["x_binary"], inputs["beta"]
    z_mean, z_log_var, probs = _forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + beta * witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (beta={beta})",
                 "pass beta to KLDivergenceLayer(beta).", rtol=1e-4, atol=1e-2)


def vae_kl_probe(impl, inputs):
    vae = impl.build_vae(*_probe_models(inputs, decoder_scale=0.0))
    x = inputs["x_binary"]
    return {"loss": _evaluated_loss(vae, x), "scaled_loss": _evaluated_loss(vae, 3.0 * x, x)}


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


def vae_samples_inputs(rng):
    return {"z_mean": rng.uniform(-2, 2, size=2), "variance": rng.uniform(2.0, 6.0, size=2)}


def vae_samples_probe(impl, inputs):
    import keras

    constant = keras.initializers.Constant
    x = keras.Input((2,))
    z_mean = keras.layers.Dense(2, kernel_initializer="zeros",
                                bias_initializer=constant(inputs["z_mean"]))(x)
    z_log_var = keras.layers.Dense(2, kernel_initializer="zeros",
                                   bias_initializer=constant(np.log(inputs["variance"])))(x)
    z = keras.Input((2,))
    identity = keras.layers.Dense(2, kernel_initializer="identity")(z)
    vae = impl.build_vae(keras.Model(x, [z_mean, z_log_var]), keras.Model(z, identity),
                         likelihood="gaussian")
    return {"samples": vae(np.zeros((5000, 2), np.float32), training=True)}


def vae_samples_judge(inputs, observed):
    samples = array(observed["samples"], "vae(x, training=True)")
    expect_shape(samples, (5000, 2), "vae(x, training=True) with an identity decoder")
    std, expected_std = samples.std(axis=0), np.sqrt(inputs["variance"])
    assert np.all(np.abs(std - expected_std) < 0.06 * expected_std), (
        f"Spread of decoded z (identity decoder): expected standard deviation "
        f"{np.round(expected_std, 3)}, received {np.round(std, 3)}.\nLikely mistake: the "
        "decoder is fed z_mean (std 0) instead of the Sampling layer's z, or the variance is "
        "used as the standard deviation.")
    expect_close(samples.mean(axis=0), inputs["z_mean"], "mean of decoded z",
                 "z must be centred on z_mean.", rtol=0, atol=0.1 * expected_std.max())


def vae_learning_rate_probe(impl, inputs):
    from keras import ops

    vae = impl.build_vae(*_probe_models(inputs), learning_rate=inputs["learning_rate"])
    optimizer = getattr(vae, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    return {"learning_rate": None if rate is None else float(ops.convert_to_numpy(rate))}


def vae_learning_rate_judge(inputs, observed):
    wanted = inputs["learning_rate"]
    assert observed["learning_rate"] is not None, (
        "vae.optimizer.learning_rate: expected a number, received none (no optimizer).")
    expect_close(observed["learning_rate"], wanted, f"vae.optimizer.learning_rate for "
                 f"learning_rate={wanted}", "pass learning_rate to the optimizer, e.g. "
                 "keras.optimizers.Adam(learning_rate).", rtol=1e-5, atol=0)


def fit_inputs(rng):
    return {"rows": np.sort(rng.permutation(5000)[:1000]), "seed": int(rng.integers(2**31))}


def fit_probe(impl, inputs):
    import keras

    from keras_vae.data import embedded_sample_path

    with np.load(embedded_sample_path()) as data:
        x = data["x_train"][inputs["rows"]].reshape(-1, 784)
    x = (x > 127).astype(np.float32)
    keras.utils.set_random_seed(inputs["seed"])
    encoder = impl.build_encoder((784,), 4, hidden_units=(64,))
    decoder = impl.build_decoder(4, (784,), hidden_units=(64,))
    vae = impl.build_vae(encoder, decoder)
    before = vae.evaluate(x, x, batch_size=500, verbose=0, return_dict=True)["loss"]
    vae.fit(x, x, epochs=3, batch_size=50, verbose=0)
    return {"before": before,
            "after": vae.evaluate(x, x, batch_size=500, verbose=0, return_dict=True)["loss"]}


def fit_judge(inputs, observed):
    before = float(array(observed["before"], "loss"))
    after = float(array(observed["after"], "loss"))
    assert np.isfinite(after) and after < 0.8 * before, (
        f"Loss after 3 epochs: expected below 80% of {before:.1f}, received {after:.1f}.\n"
        "Likely mistake: gradients do not reach the weights, or the loss has the wrong sign.")


KL_LAYER = ("KLDivergenceLayer", "kl_divergence")
VAE = ("build_vae", "KLDivergenceLayer", "Sampling", "kl_divergence", "bernoulli_nll",
       "reparameterize")

ITEMS = [
    Item("kl_layer.identity", 1, "KLDivergenceLayer returns [z_mean, z_log_var] unchanged.",
         KL_LAYER, _posterior, kl_layer_probe, kl_layer_identity_judge),
    Item("kl_layer.adds_batch_mean", 2, "KLDivergenceLayer adds the batch mean of the KL "
         "divergence with add_loss.", KL_LAYER, _posterior, kl_layer_probe, kl_layer_mean_judge),
    Item("kl_layer.beta", 1, "KLDivergenceLayer(beta) adds beta times the batch mean KL.",
         KL_LAYER, _posterior, kl_layer_probe, kl_layer_beta_judge),
    Item("kl_layer.batch_size_independent", 1, "The added KL loss does not grow when the same "
         "examples are repeated in a bigger batch.", KL_LAYER, _posterior, kl_layer_probe,
         kl_layer_batch_judge),
    Item("encoder.outputs", 1, "build_encoder returns a keras.Model mapping x to "
         "[z_mean, z_log_var], from two heads.", ("build_encoder",), encoder_inputs, encoder_outputs_probe,
         encoder_outputs_judge),
    Item("encoder.latent_dim", 1, "build_encoder respects latent_dim, 1 included.",
         ("build_encoder",), encoder_inputs, encoder_latent_probe, encoder_latent_judge),
    Item("encoder.hidden_units", 1, "build_encoder has one hidden Dense layer per entry of "
         "hidden_units, in order.", ("build_encoder",), encoder_inputs, encoder_hidden_probe,
         _hidden_judge("build_encoder")),
    Item("encoder.log_var_signed", 1, "The z_log_var head is unconstrained: a log-variance "
         "can be negative.", ("build_encoder",), encoder_inputs, encoder_signed_probe,
         encoder_signed_judge),
    Item("encoder.heads_unbounded", 1, "Neither posterior head squashes its output: z_mean and "
         "z_log_var grow with the weights.", ("build_encoder",), encoder_inputs,
         encoder_unbounded_probe, encoder_unbounded_judge),
    Item("encoder.image_input", 1, "build_encoder accepts (height, width, channels) images.",
         ("build_encoder",), encoder_inputs, encoder_image_probe, encoder_image_judge),
    Item("decoder.flat_output", 1, "build_decoder returns a keras.Model mapping z to "
         "(batch_size, D) for D pixels.", ("build_decoder",), encoder_inputs, decoder_flat_probe,
         decoder_flat_judge),
    Item("decoder.image_output", 1, "build_decoder produces (batch_size,) + output_shape for "
         "an image shape.", ("build_decoder",), encoder_inputs, decoder_image_probe,
         decoder_image_judge),
    Item("decoder.bernoulli_range", 1, "A Bernoulli decoder outputs probabilities in [0, 1], "
         "even for far-out z.", ("build_decoder",), encoder_inputs, decoder_range_probe,
         decoder_range_judge),
    Item("decoder.hidden_units", 1, "build_decoder has one hidden Dense layer per entry of "
         "hidden_units, in order from z.", ("build_decoder",), encoder_inputs,
         decoder_hidden_probe, _hidden_judge("build_decoder")),
    Item("vae.compiled", 1, "build_vae returns a compiled keras.Model with .encoder, .decoder "
         "and x-shaped output.", ("build_vae",), vae_inputs, vae_compiled_probe,
         vae_compiled_judge),
    Item("vae.bernoulli_loss", 3, "The VAE's loss is mean(bernoulli_nll) + mean(KL) for "
         "likelihood='bernoulli'.", VAE, vae_inputs, vae_bernoulli_probe, vae_bernoulli_judge),
    Item("vae.gaussian_loss", 2, "The VAE's loss is mean(gaussian_nll with sigma) + mean(KL) "
         "for likelihood='gaussian'.", VAE[:5] + ("gaussian_nll", "reparameterize"),
         vae_inputs, vae_gaussian_probe, vae_gaussian_judge),
    Item("vae.beta", 1, "With beta the VAE's loss is mean(nll) + beta * mean(KL).", VAE,
         vae_inputs, vae_beta_probe, vae_beta_judge),
    Item("vae.kl_present", 1, "The VAE's loss contains the KL term: moving z_mean away from 0 "
         "raises it by the KL.", VAE, vae_inputs, vae_kl_probe, vae_kl_judge),
    Item("vae.samples_z", 2, "In training the VAE decodes a sample z ~ q(z|x), not z_mean.",
         ("build_vae", "Sampling", "reparameterize", "gaussian_nll"), vae_samples_inputs,
         vae_samples_probe, vae_samples_judge),
    Item("vae.learning_rate", 1, "build_vae's optimizer uses the learning_rate it is given.",
         ("build_vae",), vae_inputs, vae_learning_rate_probe, vae_learning_rate_judge),
    Item("vae.fit_lowers_loss", 2, "Three epochs of fit on 1,000 embedded MNIST digits lower "
         "the VAE's loss.", VAE + ("build_encoder", "build_decoder"), fit_inputs, fit_probe,
         fit_judge),
]
