"""What the encoder's and decoder's items share: the structure of a network, read from its
exported graph, its variables and runs with grader-set weights."""

import hashlib

import numpy as np


def hidden_sizes(rng, count):
    return [int(size) for size in rng.choice(np.arange(11, 48), size=count, replace=False)]


def expect_model(facts, what):
    assert facts.get("is_model") is True, (
        f"{what}: expected a keras.Model, received {facts.get('type')}.")


def _gradients_reach(graphs, name, x, rng):
    """Which of the archive's trainable variables its outputs depend on, through a random
    projection of the outputs (a BatchNormalization's moving statistics are variables too, but
    no gradient reaches them)."""
    import tensorflow as tf

    model = graphs.load(name)
    variables = [v for v in graphs.variables(name) if v.trainable]
    with tf.GradientTape() as tape:
        outputs = tf.nest.flatten(model.call(tf.constant(x)))
        total = tf.add_n([tf.reduce_sum(o * rng.normal(size=o.shape).astype(
            o.dtype.as_numpy_dtype)) for o in outputs])
    gradients = tape.gradient(total, variables)
    return [g is not None and bool(tf.reduce_any(g != 0)) for g in gradients]


def observe_network(graphs, name, x):
    """What runs tell of the archive's network: its weights, whether each takes part in the
    output, and whether the output follows the input (rows reversed in, rows reversed out).
    The runs use weights drawn as an initializer would (drawn from `x`, and put back
    afterwards): a layer initialised with a kernel of 0 outputs the same for every input at
    the start, and the square of an output of 0 has no gradient, yet it takes part."""
    variables = [v for v in graphs.variables(name) if v.trainable]
    rng = np.random.default_rng(
        int(hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16], 16))
    kept = [v.numpy() for v in variables]
    for variable in variables:
        variable.assign(_drawn(rng, tuple(variable.shape)).astype(variable.dtype.as_numpy_dtype))
    try:
        return {"shapes": [list(shape) for shape in graphs.trainable_shapes(name)],
                "listed": [list(v.shape) for v in variables],
                "reached": _gradients_reach(graphs, name, x, rng),
                "forward": graphs.call(name, x), "backward": graphs.call(name, x[::-1])}
    finally:
        for variable, value in zip(variables, kept):
            variable.assign(value)


def expect_network(network, what, width=None):
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


def _drawn(rng, shape):
    """A weight drawn like an initializer's at a trained scale: kernels normal with standard
    deviation about 1 / sqrt(fan_in), biases small."""
    if len(shape) >= 2:
        scale = rng.uniform(1.0, 1.5) / np.sqrt(np.prod(shape[:-1]))
        return rng.normal(scale=scale, size=shape)
    return rng.normal(scale=0.1, size=shape)


def _output_layers(variables, width, heads):
    """The variables of the last `heads` layers of output width `width`: their kernels and
    biases, in the order the model lists them."""
    kernels = [v for v in variables if len(v.shape) >= 2 and v.shape[-1] == width][-heads:]
    biases = [v for v in variables if len(v.shape) == 1 and v.shape[-1] == width][-heads:]
    return kernels + biases


def _spread(outputs, logits):
    """The smallest distance from 0 reached on both sides by every output, in logits for
    probabilities."""
    reach = []
    for output in outputs if isinstance(outputs, list) else [outputs]:
        output = np.asarray(output, np.float64)
        if logits:
            output = np.log(np.clip(output, 1e-12, 1.0)) - np.log(np.clip(1 - output, 1e-12, 1.0))
        reach.append(min(output.max(initial=0), -output.min(initial=0)))
    return min(reach)


def set_weights_run(graphs, name, x, seed, widths, heads=1, target=None, logits=False,
                    negate=False):
    """Draws every weight as an initializer would, at a trained scale, runs the network on `x`,
    then scales its output layers (the last `heads` kernels and biases of the first of `widths`
    the model has) by a factor and runs it again. Whatever the hidden layers, the outputs of
    linear output layers then scale by the factor (their logits, for sigmoid outputs).

    Args:
        target: where given, the factor takes the outputs (their logits with `logits`) to this
            distance from 0 on both sides, else it is drawn in [1.5, 2.5].
        negate: also run it with the output layers negated, as drawn (`"negated"`) and as
            scaled (`"negated_scaled"`): linear output layers then give the outputs with their
            signs flipped, so that both signs are reached whatever sign the draw gave them all;
            the target's distance is then reached on one side by the outputs, on the other by
            their negations.
    """
    rng = np.random.default_rng(seed)
    trainable = [v for v in graphs.variables(name) if v.trainable]
    for variable in trainable:
        variable.assign(_drawn(rng, tuple(variable.shape)).astype(np.float32))
    first = graphs.call(name, x)
    output = next((found for found in (_output_layers(trainable, w, heads) for w in widths)
                   if found), [])
    negated = _negated(graphs, name, x, output) if negate else None
    factor = float(rng.uniform(1.5, 2.5))
    if target is not None:
        reached = first if negated is None else [
            np.concatenate([a, b]) for a, b in zip(_outputs(first), _outputs(negated))]
        spread = _spread(reached, logits)
        factor = float(min(target / spread, 1e4)) if spread > 0 else 1.0
    for variable in output:
        variable.assign(variable * factor)
    observed = {"first": first, "scaled": graphs.call(name, x), "factor": factor,
                "found": len(output)}
    if negate:
        observed.update(negated=negated, negated_scaled=_negated(graphs, name, x, output))
    return observed


def _negated(graphs, name, x, output):
    """The outputs with the `output` variables negated, which are then put back."""
    for variable in output:
        variable.assign(-variable)
    outputs = graphs.call(name, x)
    for variable in output:
        variable.assign(-variable)
    return outputs


def _outputs(values):
    return [np.asarray(v, np.float64) for v in (values if isinstance(values, list) else [values])]


def _logit(probs):
    return np.log(probs) - np.log1p(-probs)


def scaled_outputs(observed, what, widths, sigmoid=False):
    """Asserts the outputs (of trailing shapes `widths`) come from the model's output layers:
    scaling those layers by a factor scales the outputs by it (the logits, for `sigmoid`)."""
    first, scaled = _outputs(observed["first"]), _outputs(observed["scaled"])
    factor = float(observed["factor"])
    shapes = [tuple(o.shape[1:]) for o in first]
    assert shapes == [tuple(w) for w in widths], (
        f"{what}: expected outputs of shapes {[tuple(w) for w in widths]} (after the batch), "
        f"received {shapes}.")
    names = ["z_mean", "z_log_var"] if len(first) == 2 else ["output"]
    scales = []
    for one, two in zip(first, scaled):
        if int(observed["found"]) == 0 or one.shape != two.shape:
            scales.append(False)
        elif sigmoid:
            inside = (one > 1e-4) & (one < 1 - 1e-4) & (two > 1e-4) & (two < 1 - 1e-4)
            scales.append(bool(inside.any() and np.all((one >= 0) & (one <= 1)) and np.allclose(
                _logit(two[inside]), factor * _logit(one[inside]), rtol=2e-2, atol=2e-2)))
        else:
            scales.append(bool(np.allclose(two, factor * one, rtol=1e-3,
                                           atol=1e-4 * factor * max(1.0, np.abs(one).max()))))
    if all(scales):
        return
    index = scales.index(False)
    row = [o.reshape(len(o), -1)[0][:3] for o in (first[index], scaled[index])]
    expected = factor * row[0]
    if sigmoid and not np.all((first[index] >= 0) & (first[index] <= 1)):
        raise AssertionError(
            f"{what}: not judged: the output is not a probability (first row "
            f"{np.round(row[0], 4)}); see decoder.bernoulli_range.")
    if sigmoid:
        expected = 1 / (1 + np.exp(-factor * _logit(np.clip(row[0], 1e-7, 1 - 1e-7))))
        hint = ("the probabilities are not a sigmoid of the output layer (squashed or shifted "
                "probabilities, or another activation).")
    elif any(scales):
        hint = (f"the {names[index]} head is not a linear layer on the last hidden layer: an "
                "activation on it (tanh, sigmoid, relu, a clip), or a head computed from the "
                "other head's output.")
    else:
        hint = ("an activation on a head that should be linear (tanh, sigmoid, relu, a clip), "
                "or outputs that do not come from the model's own output layers.")
    what_scales = "logits of the probabilities" if sigmoid else f"{names[index]} values"
    raise AssertionError(
        f"{what} with weights drawn like an initializer's, then its output layer scaled by "
        f"{factor:.3g}: expected the {what_scales} to scale by the same factor (first row "
        f"{np.round(row[0], 4)} becoming {np.round(expected, 4)}), received "
        f"{np.round(row[1], 4)}.\nLikely mistake: {hint}")


def encoder_weights_run(graphs, name, x, seed, latent_dim, **options):
    """`set_weights_run` for an encoder: its output layers are the two heads of `latent_dim`
    units (or one of twice as many, split in two)."""
    return set_weights_run(graphs, name, x, seed, (latent_dim, 2 * latent_dim), heads=2,
                           **options)


def hidden_run(graphs, inputs, x, width, encoder):
    run = encoder_weights_run if encoder else set_weights_run
    network = observe_network(graphs, "hidden", x)
    return {"shapes": network["shapes"], "listed": network["listed"],
            "reached": network["reached"],
            "set": run(graphs, "hidden", x, inputs["weights_seed"],
                       width if encoder else (width,))}


def _dense_path(kernels, start, sizes):
    """Removes the kernels of a chain `start -> sizes[0] -> ...` from `kernels`; whether found."""
    current = start
    for size in sizes:
        if [current, size] not in kernels:
            return False
        kernels.remove([current, size])
        current = size
    return True


def hidden_judge(name, first, last):
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
        encoder = name == "build_encoder"
        found = list(kernels)
        if _dense_path(found, start, wanted) and _heads(found, wanted[-1], end):
            if encoder:
                d = inputs["latent_dims"][1]
                scaled_outputs(observed["set"], name, [(d,), (d,)])
            else:
                scaled_outputs(observed["set"], name, [(end,)], sigmoid=True)
            return
        head_width = end // 2 if encoder else end
        hidden = [k for k in kernels if k[1] not in (head_width, end)]
        stacked = list(kernels)
        reverse = list(kernels)
        if _dense_path(reverse, start, wanted[::-1]) and _heads(reverse, wanted[0], end):
            hint = "the hidden layers are in reverse order: hidden_units lists them from the input."
        elif (encoder and _dense_path(stacked, start, wanted)
              and sorted(stacked) == sorted([[wanted[-1], head_width], [head_width, head_width]])):
            hint = ("one head is computed from the other (a Dense on z_mean): both heads take "
                    "the last hidden layer's output.")
        elif len(hidden) != len(wanted):
            hint = (f"one hidden Dense layer per entry of hidden_units is expected "
                    f"({len(wanted)} here), received {len(hidden)} hidden weight matrices "
                    f"besides the output layer{'s' if encoder else ''}.")
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


def num_pixels(inputs):
    return inputs["num_pixels"]


def latent_outputs(inputs):
    return inputs["latent_dims"][1] * 2 if "latent_dims" in inputs else inputs["latent_dim"]
