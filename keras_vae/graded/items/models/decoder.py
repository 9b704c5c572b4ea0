"""Graded: `build_decoder` (the reference's `models.py`)."""

import numpy as np

from keras_vae.graded.item import Item
from keras_vae.graded.items.models.encoder import encoder_config
from keras_vae.graded.items.models.networks import (
    expect_model, expect_network, hidden_judge, hidden_run, num_pixels, observe_network,
    scaled_outputs, set_weights_run)
from keras_vae.graded.witness import array, expect_shape, sigmoid


def _as_probabilities(observed):
    """The runs of `set_weights_run` as probabilities: outputs outside [0, 1] (no sigmoid) are
    put through one, so the structural items judge the layers, and a missing sigmoid costs
    `decoder.bernoulli_range`'s point alone."""
    try:
        runs = [np.asarray(observed[key], np.float64) for key in ("first", "scaled")]
    except (TypeError, ValueError):
        return observed
    if all(np.all((run >= 0) & (run <= 1)) for run in runs):
        return observed
    return dict(observed, first=sigmoid(runs[0]), scaled=sigmoid(runs[1]))


def _judge_as_probabilities(observed, judge):
    """Runs `judge` on `_as_probabilities(observed)`. Outputs that are not probabilities and,
    put through a sigmoid, still fail are not judged further: the output activation is what is
    wrong, and `decoder.bernoulli_range` names it."""
    probabilities = _as_probabilities(observed)
    try:
        judge(probabilities)
    except AssertionError:
        if probabilities is observed:
            raise
        runs = [np.asarray(observed[key], np.float64) for key in ("first", "scaled")]
        low, high = min(r.min() for r in runs), max(r.max() for r in runs)
        raise AssertionError(
            f"not judged: the decoder's outputs are not probabilities (they range over "
            f"[{low:.3f}, {high:.3f}]); see decoder.bernoulli_range.") from None


def decoder_config(rng):
    config = encoder_config(rng)
    return dict(config, latent_dim=config["latent_dims"][1])


def decoder_inputs(rng, config):
    return {"z": rng.normal(size=(16, config["latent_dim"])).astype(np.float32),
            "weights_seed": int(rng.integers(2**31))}


def decoder_flat_run(graphs, inputs):
    observed = {"output": graphs.call("flat", inputs["z"][:3]),
                "network": observe_network(graphs, "flat", inputs["z"][:8])}
    observed["set"] = set_weights_run(graphs, "flat", inputs["z"], inputs["weights_seed"],
                                      (inputs["num_pixels"],))
    return observed


def decoder_flat_judge(inputs, observed):
    expect_model(observed["facts"], "build_decoder")
    expect_network(observed["network"], "build_decoder", inputs["latent_dim"])
    expect_shape(observed["output"], (3, inputs["num_pixels"]), "decoder output")
    _judge_as_probabilities(observed["set"], lambda run: scaled_outputs(
        run, "build_decoder (Bernoulli)", [(inputs["num_pixels"],)], sigmoid=True))


def decoder_image_run(graphs, inputs):
    observed = {"output": graphs.call("image", inputs["z"][:3]),
                "network": observe_network(graphs, "image", inputs["z"][:8])}
    observed["set"] = set_weights_run(graphs, "image", inputs["z"], inputs["weights_seed"],
                                      (int(np.prod(inputs["image_shape"])),))
    return observed


def decoder_image_judge(inputs, observed):
    expect_network(observed["network"], "build_decoder for an image shape", inputs["latent_dim"])
    expect_shape(observed["output"], (3,) + tuple(inputs["image_shape"]),
                 "decoder output for an image shape")
    _judge_as_probabilities(observed["set"], lambda run: scaled_outputs(
        run, "build_decoder for an image shape", [tuple(inputs["image_shape"])], sigmoid=True))


def decoder_range_run(graphs, inputs):
    # The output layer is scaled until its logits would pass -6 and +6.
    return {"network": observe_network(graphs, "range", inputs["z"][:8]),
            "set": set_weights_run(graphs, "range", inputs["z"], inputs["weights_seed"],
                                   (inputs["num_pixels"],), target=6.0, logits=True)}


def decoder_range_judge(inputs, observed):
    expect_network(observed["network"], "build_decoder", inputs["latent_dim"])
    factor = float(observed["set"]["factor"])
    for key, what in (("first", "weights drawn like an initializer's"),
                      ("scaled", f"its output layer then scaled by {factor:.3g}")):
        probs = array(observed["set"][key], "decoder output")
        assert probs.size and probs.min() >= 0.0 and probs.max() <= 1.0, (
            f"Bernoulli probabilities for {what}: expected values in [0, 1], received "
            f"[{probs.min():.3f}, {probs.max():.3f}].\nLikely mistake: no sigmoid on the "
            "output layer (no activation, or another one such as tanh).")
    probs = array(observed["set"]["scaled"], "decoder output")
    assert probs.min() < 0.05 and probs.max() > 0.95, (
        f"Bernoulli probabilities with the output layer scaled by {factor:.3g}: expected "
        f"values near both 0 and 1, received [{probs.min():.3f}, {probs.max():.3f}].\nLikely "
        "mistake: the probabilities cannot come near 0 or 1: a ReLU before the sigmoid, or "
        "probabilities squashed into a narrower range.")
    scaled_outputs(observed["set"], "build_decoder (Bernoulli)", [(inputs["num_pixels"],)],
                   sigmoid=True)


def decoder_hidden_run(graphs, inputs):
    return hidden_run(graphs, inputs, inputs["z"][:8], inputs["num_pixels"], encoder=False)


_hidden_judge = hidden_judge("build_decoder", lambda inputs: inputs["latent_dim"], num_pixels)


def decoder_hidden_judge(inputs, observed):
    _judge_as_probabilities(observed["set"],
                            lambda run: _hidden_judge(inputs, dict(observed, set=run)))


ITEMS = [
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
         decoder_inputs, decoder_hidden_run, decoder_hidden_judge),
]
