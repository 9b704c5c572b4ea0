"""Graded: `vae.learning_rate`, the training step depends on `build_vae`'s learning rate
through the rate its optimizer stores alone."""

import numpy as np

from keras_vae.graded.graphs import FORWARD_ENDPOINTS
from keras_vae.graded.items.models.vae_probes import first_move, probe_weights
from keras_vae.graded.witness import array, expect_close, expect_shape


def _read_by(model, endpoints):
    """The variables that the functions of a loaded archive's `endpoints` read, by id, in
    the order they capture them."""
    return {id(v): v for endpoint in endpoints if hasattr(model, endpoint)
            for function in getattr(model, endpoint).concrete_functions
            for v in function.variables}


def _rate_variables(model):
    """The float scalars that a loaded archive's `train_step` reads and its forward endpoints
    do not: the optimizer's learning rate is one of them, as the optimizer stores it."""
    forward = _read_by(model, FORWARD_ENDPOINTS)
    return [v for key, v in _read_by(model, ["train_step"]).items() if key not in forward
            and v.shape.rank == 0 and v.dtype.is_floating]


def _state(model):
    """The values that a loaded archive's training step reads, in order."""
    return [v.numpy() for v in _read_by(model, ["train_step"]).values()]


def _give_state(values, model):
    """Gives the training step of `model` the `values` another archive's step read (`_state`),
    all but its stored rate, where the two steps read values of the same shapes and types in
    the same order: its noise generator's state and its optimizer's, so that a `Sampling`
    whose generator was not seeded (`tf.random.Generator.from_non_deterministic_state()`)
    draws the same noise in both."""
    variables = list(_read_by(model, ["train_step"]).values())
    rates = {id(v) for v in _rate_variables(model)}
    if len(values) == len(variables) and all(
            tuple(v.shape) == value.shape and v.dtype.as_numpy_dtype == value.dtype
            for v, value in zip(variables, values)):
        for variable, value in zip(variables, values):
            if id(variable) not in rates:
                variable.assign(value)


def _encoder_kernel(graphs, name, shape):
    return next(v for v in graphs.variables(name) if tuple(v.shape) == shape).numpy()


def vae_learning_rate_run(graphs, inputs):
    rate_a, rate_b = inputs["learning_rates"]
    observed = {name: [float(v.numpy()) for v in _rate_variables(graphs.load(name))]
                for name in ("rate_a", "rate_b")}
    # First steps (the first that moves a weight, as many calls for each) from the same
    # weights, data and noise (the export seeds both VAEs alike, and the second is given the
    # first's state as loaded): of the VAE built with rate_a, of the one built with rate_b,
    # and of a fresh copy of the first whose stored rate is set to rate_b.
    x, shape, steps, calls = inputs["x_binary"], inputs["enc_kernel"].shape, {}, None
    for key, copy, name in (("a", graphs, "rate_a"), ("b", graphs, "rate_b"),
                            ("a_at_b", type(graphs)(graphs.folder), "rate_a")):
        copy.set_by_shape(name, probe_weights(inputs))
        start = _encoder_kernel(copy, name, shape)
        if key == "a":
            state = _state(copy.load(name))
        if key == "b":
            _give_state(state, copy.load(name))
        if key == "a_at_b":
            for variable in _rate_variables(copy.load(name)):
                if np.isclose(variable.numpy(), rate_a, rtol=1e-6, atol=0):
                    variable.assign(rate_b)
        calls = first_move(copy, name, x, calls)
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
