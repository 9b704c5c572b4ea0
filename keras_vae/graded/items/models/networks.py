"""What the encoder's and decoder's items share: the structure of a network, read from its
exported graph, its variables and runs with grader-set weights."""

import numpy as np

from keras_vae.graded import witness


def hidden_sizes(rng, count):
    return [int(size) for size in rng.choice(np.arange(11, 48), size=count, replace=False)]


def expect_model(facts, what):
    assert facts.get("is_model") is True, (
        f"{what}: expected a keras.Model, received {facts.get('type')}.")


def _gradients_reach(graphs, name, x):
    """Which of the archive's variables the sum of its outputs depends on."""
    import tensorflow as tf

    model, variables = graphs.load(name), graphs.variables(name)
    with tf.GradientTape() as tape:
        outputs = model.call(tf.constant(x))
        total = tf.add_n([tf.reduce_sum(o * o) for o in tf.nest.flatten(outputs)])
    gradients = tape.gradient(total, variables)
    return [g is not None and bool(tf.reduce_any(g != 0)) for g in gradients]


def observe_network(graphs, name, x):
    """What runs tell of the archive's network: its weights, whether each takes part in the
    output, and whether the output follows the input (rows reversed in, rows reversed out)."""
    forward, backward = graphs.call(name, x), graphs.call(name, x[::-1])
    return {"shapes": [list(shape) for shape in graphs.trainable_shapes(name)],
            "listed": [list(v.shape) for v in graphs.variables(name) if v.trainable],
            "reached": _gradients_reach(graphs, name, x), "forward": forward,
            "backward": backward}


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


def set_weights_run(graphs, name, x, seed):
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


def expect_biases(observed, what, widths, activation=_identity):
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
            "set": set_weights_run(graphs, "hidden", x[:2], inputs["weights_seed"])}


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
        if name == "build_encoder":
            d = inputs["latent_dims"][1]
            expect_biases(observed["set"], name, [(d,), (d,)])
        else:
            expect_biases(observed["set"], name, [(end,)], witness.sigmoid)
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


def num_pixels(inputs):
    return inputs["num_pixels"]


def latent_outputs(inputs):
    return inputs["latent_dims"][1] * 2 if "latent_dims" in inputs else inputs["latent_dim"]
