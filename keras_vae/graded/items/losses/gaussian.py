"""Graded: `gaussian_nll` (the reference's `losses.py`)."""

import numpy as np

from keras_vae.graded import diagnosis, witness
from keras_vae.graded.item import Item
from keras_vae.graded.items.losses.pixels import pixel_inputs
from keras_vae.graded.witness import expect_close


GAUSSIAN_HINT = ("the squared error is divided by 2 * sigma**2 and the normalizing constant "
                 "D * log(sigma) + D / 2 * log(2 * pi) counts D, the pixels of one example "
                 "(not always 784).")


def gaussian_inputs(rng, config):
    return pixel_inputs(rng, config, "mean", 0.0, 1.0)


def gaussian_unit_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["mean"], endpoint="unit")}


def gaussian_unit_judge(inputs, observed):
    x, mean = inputs["x"], inputs["mean"]
    expect_close(observed["nll"], witness.gaussian_nll(x, mean, 1.0),
                 f"gaussian_nll(x, mean, sigma=1.0) for x of shape {x.shape}",
                 diagnosis.gaussian_nll(observed["nll"], x, mean, 1.0) or GAUSSIAN_HINT)


UNIT_FAILS = ("gaussian_nll differs from the closed form at sigma = 1 on flat examples too: see "
              "gaussian.closed_form, whose fix may fix this one.")


def _unit_fails(observed, inputs):
    """Whether `gaussian.closed_form` already fails: that sibling then names the mistake, and
    this item adds no guess of its own."""
    try:
        gaussian_unit_judge(inputs, {"nll": observed["unit"]})
    except AssertionError:
        return True
    return False


def gaussian_sigma_run(graphs, inputs):
    observed = {str(s): graphs.call("functions", inputs["x"], inputs["mean"],
                                    endpoint=f"sigma_{i}")
                for i, s in enumerate(inputs["sigmas"])}
    observed["unit"] = gaussian_unit_run(graphs, inputs)["nll"]
    return observed


def gaussian_sigma_judge(inputs, observed):
    hint = ("sigma is ignored, or used as a variance: the density has sigma**2 in the "
            "exponent's denominator and log(sigma) per pixel.")
    x, mean = inputs["x"], inputs["mean"]
    for sigma in inputs["sigmas"]:
        received = observed[str(sigma)]
        expect_close(received, witness.gaussian_nll(x, mean, sigma),
                     f"gaussian_nll(sigma={sigma:.3f})",
                     UNIT_FAILS if _unit_fails(observed, inputs)
                     else diagnosis.gaussian_nll(received, x, mean, sigma) or hint)


def gaussian_image_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_image"], inputs["mean_image"],
                               endpoint="image"),
            "unit": gaussian_unit_run(graphs, inputs)["nll"]}


def gaussian_image_judge(inputs, observed):
    hint = ("reduce over all non-batch axes, and count D = height * width * channels pixels in "
            "the constant.")
    x, mean, sigma = inputs["x_image"], inputs["mean_image"], inputs["sigmas"][0]
    expect_close(observed["nll"], witness.gaussian_nll(x, mean, sigma),
                 f"gaussian_nll on images of shape {x.shape}",
                 UNIT_FAILS if _unit_fails(observed, inputs)
                 else diagnosis.gaussian_nll(observed["nll"], x, mean, sigma) or hint)


def gaussian_reference_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["mean"], endpoint="sigma_1")}


def gaussian_reference_judge(inputs, observed):
    # Summed per-pixel log densities, as tfp.distributions.Normal(mean, sigma).log_prob gives.
    sigma = inputs["sigmas"][1]
    log_prob = (-0.5 * ((np.float64(inputs["x"]) - inputs["mean"]) / sigma) ** 2
                - np.log(sigma) - 0.5 * np.log(2 * np.pi))
    expect_close(observed["nll"], -log_prob.sum(axis=1), "gaussian_nll vs per-pixel Normal "
                 "log densities",
                 diagnosis.gaussian_nll(observed["nll"], inputs["x"], inputs["mean"], sigma)
                 or GAUSSIAN_HINT)


ITEMS = [
    Item("gaussian.closed_form", 2, "gaussian_nll is sum((x - mean)**2) / 2 + D/2 log(2 pi) "
         "at sigma = 1, constant included.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs,
         gaussian_unit_run, gaussian_unit_judge),
    Item("gaussian.sigma", 2, "gaussian_nll uses sigma as a standard deviation, for sigma "
         "below and above 1.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_sigma_run,
         gaussian_sigma_judge),
    Item("gaussian.image_shape", 1, "gaussian_nll sums over every non-batch axis of images.",
         ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_image_run, gaussian_image_judge),
    Item("gaussian.tfp", 1, "gaussian_nll agrees with -tfd.Normal(mean, sigma).log_prob(x) "
         "summed over pixels.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_reference_run,
         gaussian_reference_judge),
]
