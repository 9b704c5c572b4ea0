"""Graded: `build_encoder` (the reference's `models.py`)."""

import numpy as np

from keras_vae.graded.item import Item
from keras_vae.graded.items.models.networks import (
    encoder_weights_run, expect_model, expect_network, hidden_judge, hidden_run, hidden_sizes,
    latent_outputs, num_pixels, observe_network, scaled_outputs)
from keras_vae.graded.witness import array, expect_pair, expect_shape


def encoder_config(rng):
    return {"num_pixels": int(rng.choice([n for n in range(40, 300) if n != 784])),
            "latent_dims": [1, int(rng.integers(2, 9))], "hidden_units": hidden_sizes(rng, 2),
            "image_shape": [int(rng.integers(2, 5)) * 4, int(rng.integers(2, 5)) * 4,
                            int(rng.integers(1, 4))]}


def encoder_inputs(rng, config):
    return {"x": rng.uniform(size=(64, config["num_pixels"])).astype(np.float32),
            "weights_seed": int(rng.integers(2**31))}


def encoder_outputs_run(graphs, inputs):
    observed = {"outputs": graphs.call("main", inputs["x"][:3]),
                "network": observe_network(graphs, "main", inputs["x"][:8])}
    observed["set"] = encoder_weights_run(graphs, "main", inputs["x"][:8], inputs["weights_seed"],
                                          inputs["latent_dims"][1])
    return observed


def encoder_outputs_judge(inputs, observed):
    expect_model(observed["facts"], "build_encoder")
    expect_network(observed["network"], "build_encoder", inputs["num_pixels"])
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder(x)")
    expected = (3, inputs["latent_dims"][1])
    expect_shape(z_mean, expected, "z_mean")
    expect_shape(z_log_var, expected, "z_log_var")
    # At the weights the runner drew: heads initialised alike (kernels of 0) start equal.
    drawn_mean, drawn_log_var = expect_pair(observed["network"]["forward"], "encoder(x)")
    assert not np.allclose(array(drawn_mean, "z_mean"), array(drawn_log_var, "z_log_var")), (
        "z_mean and z_log_var: expected two heads with their own weights, received equal "
        "values.\nLikely mistake: one Dense layer used for both outputs; the mean and the "
        "log-variance each need a Dense(latent_dim) of their own.")
    d = inputs["latent_dims"][1]
    scaled_outputs(observed["set"], "build_encoder", [(d,), (d,)])


def encoder_latent_run(graphs, inputs):
    observed = {name: graphs.call(name, inputs["x"][:2]) for name in ("latent_one", "latent_d")}
    observed["network"] = {name: observe_network(graphs, name, inputs["x"][:8])
                           for name in ("latent_one", "latent_d")}
    observed["set"] = {name: encoder_weights_run(graphs, name, inputs["x"][:8],
                                                 inputs["weights_seed"], latent_dim)
                       for name, latent_dim in zip(("latent_one", "latent_d"),
                                                   inputs["latent_dims"])}
    return observed


def encoder_latent_judge(inputs, observed):
    for name, latent_dim in zip(("latent_one", "latent_d"), inputs["latent_dims"]):
        expect_network(observed["network"][name], f"build_encoder with latent_dim="
                        f"{latent_dim}", inputs["num_pixels"])
        scaled_outputs(observed["set"][name], f"build_encoder with latent_dim={latent_dim}",
                       [(latent_dim,), (latent_dim,)])
        z_mean, z_log_var = expect_pair(observed[name], "encoder(x)")
        expect_shape(z_mean, (2, latent_dim), f"z_mean with latent_dim={latent_dim}")
        expect_shape(z_log_var, (2, latent_dim), f"z_log_var with latent_dim={latent_dim}")


def encoder_hidden_run(graphs, inputs):
    return hidden_run(graphs, inputs, inputs["x"][:8], inputs["latent_dims"][1], encoder=True)


def encoder_signed_run(graphs, inputs):
    return {"network": observe_network(graphs, "main", inputs["x"][:8]),
            "set": encoder_weights_run(graphs, "main", inputs["x"], inputs["weights_seed"],
                                       inputs["latent_dims"][1], negate=True)}


def encoder_signed_judge(inputs, observed):
    expect_network(observed["network"], "build_encoder", inputs["num_pixels"])
    d = inputs["latent_dims"][1]
    # With the drawn heads and with the same heads negated: a linear head gives values and
    # their negatives, whatever sign the drawn weights happen to give them all.
    z_log_var = np.concatenate([array(expect_pair(observed["set"][key], "encoder(x)")[1],
                                      "z_log_var").ravel() for key in ("first", "negated")])
    assert z_log_var.size and np.min(z_log_var) < 0 < np.max(z_log_var), (
        f"z_log_var with weights drawn like an initializer's, and with its output layers "
        f"negated: expected values of both signs, received "
        f"[{np.min(z_log_var):.4f}, {np.max(z_log_var):.4f}].\nLikely mistake: a ReLU "
        "(or softplus, or a negated ReLU) on the log-variance head; log(sigma**2) < 0 whenever "
        "sigma < 1, so the head must be linear.")
    scaled_outputs(observed["set"], "build_encoder", [(d,), (d,)])


def encoder_unbounded_run(graphs, inputs):
    # The heads are scaled until the outputs would pass -12 and +12 if the heads are linear.
    return {"set": encoder_weights_run(graphs, "main", inputs["x"], inputs["weights_seed"] + 1,
                                       inputs["latent_dims"][1], target=12.0, negate=True)}


def encoder_unbounded_judge(inputs, observed):
    d = inputs["latent_dims"][1]
    # The scaled heads and the same heads negated: linear heads reach both sides, whatever
    # sign the drawn weights gave every output.
    outputs = zip(expect_pair(observed["set"]["scaled"], "encoder(x)"),
                  expect_pair(observed["set"]["negated_scaled"], "encoder(x)"))
    for name, values in zip(("z_mean", "z_log_var"), outputs):
        value = np.concatenate([array(v, name).ravel() for v in values])
        assert value.size and value.max() > 10 and value.min() < -10, (
            f"{name} with weights drawn like an initializer's and the heads scaled by "
            f"{float(observed['set']['factor']):.3g}, and negated: expected values beyond -10 "
            "and +10, "
            f"received [{value.min():.3f}, {value.max():.3f}].\nLikely mistake: a squashing, "
            f"clipping or one-sided activation (tanh, sigmoid, relu, a clip) on the {name} "
            "head; posterior means and log-variances are unbounded, so the heads are linear.")
    scaled_outputs(observed["set"], "build_encoder", [(d,), (d,)])


def encoder_image_run(graphs, inputs):
    shape = tuple(inputs["image_shape"])
    images = np.random.default_rng(0).uniform(size=(8,) + shape).astype(np.float32)
    return {"outputs": graphs.call("image", np.zeros((2,) + shape, np.float32)),
            "network": observe_network(graphs, "image", images),
            "set": encoder_weights_run(graphs, "image", images, inputs["weights_seed"],
                                       inputs["latent_dims"][1])}


def encoder_image_judge(inputs, observed):
    expect_network(observed["network"], "build_encoder for images")
    d = inputs["latent_dims"][1]
    scaled_outputs(observed["set"], "build_encoder for images", [(d,), (d,)])
    z_mean, z_log_var = expect_pair(observed["outputs"], "encoder(images)")
    d = inputs["latent_dims"][1]
    what = f"for images of shape {tuple(inputs['image_shape'])}"
    expect_shape(z_mean, (2, d), f"z_mean {what}")
    expect_shape(z_log_var, (2, d), f"z_log_var {what}")


ITEMS = [
    Item("encoder.outputs", 1, "build_encoder returns a keras.Model mapping x to "
         "[z_mean, z_log_var], from two heads.", ("build_encoder",), "encoder", encoder_inputs,
         encoder_outputs_run, encoder_outputs_judge),
    Item("encoder.latent_dim", 1, "build_encoder respects latent_dim, 1 included.",
         ("build_encoder",), "encoder", encoder_inputs, encoder_latent_run, encoder_latent_judge),
    Item("encoder.hidden_units", 1, "build_encoder has one hidden Dense layer per entry of "
         "hidden_units, in order from x, each used.", ("build_encoder",), "encoder",
         encoder_inputs, encoder_hidden_run,
         hidden_judge("build_encoder", num_pixels, latent_outputs)),
    Item("encoder.log_var_signed", 1, "The z_log_var head is unconstrained: a log-variance "
         "can be negative.", ("build_encoder",), "encoder", encoder_inputs, encoder_signed_run,
         encoder_signed_judge),
    Item("encoder.heads_unbounded", 1, "Neither posterior head squashes its output: z_mean and "
         "z_log_var grow with the weights, in both directions.", ("build_encoder",), "encoder",
         encoder_inputs, encoder_unbounded_run, encoder_unbounded_judge),
    Item("encoder.image_input", 1, "build_encoder accepts (height, width, channels) images.",
         ("build_encoder",), "encoder", encoder_inputs, encoder_image_run, encoder_image_judge),
]
