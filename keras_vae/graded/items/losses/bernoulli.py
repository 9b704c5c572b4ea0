"""Graded: `bernoulli_nll` (the reference's `losses.py`)."""

import numpy as np

from keras_vae.graded import diagnosis, witness
from keras_vae.graded.item import Item
from keras_vae.graded.items.losses.pixels import pixel_inputs
from keras_vae.graded.witness import array, expect_close, expect_shape


BERNOULLI_HINT = ("sum over every pixel (keras' binary_crossentropy takes the mean, and the "
                  "pixel count is not always 784), and keep both terms: x * log(probs) + "
                  "(1 - x) * log(1 - probs).")


def bernoulli_inputs(rng, config):
    inputs = pixel_inputs(rng, config, "probs", 0.02, 0.98)
    inputs["x_binary"] = (rng.uniform(size=inputs["x"].shape) < 0.3).astype(np.float32)
    return inputs


def bernoulli_flat_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["probs"], endpoint="flat")}


def bernoulli_flat_judge(inputs, observed):
    x, probs = inputs["x"], inputs["probs"]
    expect_close(observed["nll"], witness.bernoulli_nll(x, probs),
                 f"bernoulli_nll(x, probs) for x in [0, 1] of shape {x.shape}",
                 diagnosis.bernoulli_nll(observed["nll"], x, probs) or BERNOULLI_HINT)


def _flat_fails(observed, inputs):
    """Whether the flat examples of `bernoulli.sum_over_pixels` already fail: a sibling item
    then names the mistake, and this one adds no guess of its own."""
    try:
        bernoulli_flat_judge(inputs, {"nll": observed["flat"]})
    except AssertionError:
        return True
    return False


def bernoulli_image_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_image"], inputs["probs_image"],
                               endpoint="image"),
            "flat": graphs.call("functions", inputs["x"], inputs["probs"], endpoint="flat")}


def bernoulli_image_judge(inputs, observed):
    hint = "reduce over all axes but the first (e.g. axis=(1, 2, 3)), not only the last."
    if _flat_fails(observed, inputs):
        hint = ("bernoulli_nll differs from the closed form on flat examples too: see "
                "bernoulli.sum_over_pixels, whose fix may fix this one.")
    expect_close(observed["nll"], witness.bernoulli_nll(inputs["x_image"], inputs["probs_image"]),
                 f"bernoulli_nll on images of shape {inputs['x_image'].shape}", hint)


def bernoulli_bounds_inputs(rng, config):
    inputs = bernoulli_inputs(rng, config)
    x, probs = inputs["x_binary"], inputs["probs"]
    inputs["match"] = rng.uniform(size=x.shape) < 0.3
    inputs["miss"] = ~inputs["match"] & (rng.uniform(size=x.shape) < 0.2)
    inputs["probs_match"] = np.where(inputs["match"], x, probs).astype(np.float32)
    inputs["probs_miss"] = np.where(inputs["miss"], 1 - x, inputs["probs_match"]).astype(np.float32)
    return inputs


def bernoulli_bounds_run(graphs, inputs):
    observed = {name: graphs.call("functions", inputs["x_binary"], inputs[f"probs_{name}"],
                                  endpoint="flat") for name in ("match", "miss")}
    observed["flat"] = graphs.call("functions", inputs["x"], inputs["probs"], endpoint="flat")
    return observed


def bernoulli_bounds_judge(inputs, observed):
    assert not _flat_fails(observed, inputs), (
        "bernoulli_nll at probabilities of exactly 0 and 1: not judged while bernoulli_nll "
        "differs from the closed form for probabilities inside (0, 1); see "
        "bernoulli.sum_over_pixels, then this test judges the bounds.")
    x, probs = np.float64(inputs["x_binary"]), np.float64(inputs["probs"])
    match, miss = inputs["match"], inputs["miss"]
    terms = -(x * np.log(probs) + (1 - x) * np.log1p(-probs))
    others = np.where(match, 0.0, terms).sum(axis=1)
    for name in ("match", "miss"):
        nll = array(observed[name], "bernoulli_nll")
        expect_shape(nll, others.shape, "bernoulli_nll at probabilities 0 and 1")
        assert np.all(np.isfinite(nll)), (
            f"bernoulli_nll with some probabilities exactly 0 or 1: expected finite values, "
            f"received {nll[:4]}.\nLikely mistake: log(0); clip probs to [epsilon, 1 - epsilon] "
            "before taking logs.")
    tolerance = 1e-4 * match.sum(axis=1) + 2e-5 * np.abs(others) + 1e-4
    received = array(observed["match"], "bernoulli_nll")
    assert np.all(np.abs(received - others) <= tolerance), (
        f"bernoulli_nll where some probs equal x exactly (0 or 1): expected those pixels to "
        f"add under 1e-4 nats each, giving {np.round(others[:3], 4)}, received "
        f"{np.round(received[:3], 4)}.\nLikely mistake: a clip or an epsilon far larger than "
        "keras.config.epsilon() (1e-7).")
    missed = np.where(miss, 0.0, np.where(match, 0.0, terms)).sum(axis=1)
    received = array(observed["miss"], "bernoulli_nll")
    assert np.all(received - missed > 5 * miss.sum(axis=1)), (
        f"bernoulli_nll where some probs equal 1 - x exactly: expected over 5 nats for each "
        f"such pixel, received {np.round(received[:3] - missed[:3], 3)} nats for "
        f"{miss.sum(axis=1)[:3]} pixels.\nLikely mistake: the wrong pixels are penalized, or "
        "the clip is so wide that a certain mistake costs little.")


def bernoulli_binary_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_binary"], inputs["probs"],
                               endpoint="flat")}


def bernoulli_binary_judge(inputs, observed):
    probs, x = np.float64(inputs["probs"]), inputs["x_binary"]
    # log_prob of a Bernoulli written by cases, as tfp.distributions.Bernoulli computes it.
    log_prob = np.where(x == 1, np.log(probs), np.log1p(-probs))
    expect_close(observed["nll"], -log_prob.sum(axis=1), "bernoulli_nll on binary x",
                 diagnosis.bernoulli_nll(observed["nll"], x, probs) or BERNOULLI_HINT)


ITEMS = [
    Item("bernoulli.sum_over_pixels", 2, "bernoulli_nll is binary cross-entropy summed (not "
         "averaged) over however many pixels there are.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs,
         bernoulli_flat_run, bernoulli_flat_judge),
    Item("bernoulli.image_shape", 1, "bernoulli_nll sums over every non-batch axis of "
         "(batch_size, height, width, channels) images.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs,
         bernoulli_image_run, bernoulli_image_judge),
    Item("bernoulli.finite_at_bounds", 1, "bernoulli_nll stays finite for probabilities of "
         "exactly 0 and 1, near the exact values.", ("bernoulli_nll",), "bernoulli_nll",
         bernoulli_bounds_inputs, bernoulli_bounds_run,
         bernoulli_bounds_judge),
    Item("bernoulli.tfp", 1, "bernoulli_nll agrees with -tfd.Bernoulli(probs).log_prob(x) "
         "summed over pixels.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs, bernoulli_binary_run,
         bernoulli_binary_judge),
]
