"""Graded: `vae.fit_lowers_loss`, the student's own encoder and decoder joined by `build_vae`
and trained for three epochs on MNIST digits, judged against the runner's own negative ELBO."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.items.models.vae_probes import evaluated, first_move
from keras_vae.graded.witness import array


def fit_config(rng):
    return {"num_pixels": 784, "latent_dim": 4, "hidden_units": [64]}


def fit_inputs(rng, config):
    rows = rng.permutation(5000)
    return {"rows": np.sort(rows[:1000]), "held_out": np.sort(rows[1000:1500]),
            "order": int(rng.integers(2**31))}


def _digits(rows):
    from keras_vae.datafiles import embedded_sample_path

    with np.load(embedded_sample_path()) as data:
        x = data["x_train"][rows].reshape(-1, 784)
    return (x > 127).astype(np.float32)


def _promised_gradients(graphs, name, x, draws=8):
    """The gradient of the negative ELBO (beta = 1) with respect to the archive's trainable
    variables, through its exported encoder and decoder, averaged over `draws` NumPy noises."""
    import tensorflow as tf

    variables = [v for v in graphs.variables(name) if v.trainable]
    model, x = graphs.load(name), tf.constant(x)
    total = [np.zeros(v.shape, np.float64) for v in variables]
    for draw in range(draws):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = model.encoder(x)
            noise = np.random.default_rng(draw).normal(size=z_mean.shape).astype(np.float32)
            z = z_mean + tf.exp(z_log_var / 2) * noise
            probs = tf.clip_by_value(model.decoder(z), 1e-7, 1 - 1e-7)
            nll = -tf.reduce_sum(x * tf.math.log(probs) + (1 - x) * tf.math.log(1 - probs), 1)
            kl = 0.5 * tf.reduce_sum(z_mean**2 + tf.exp(z_log_var) - z_log_var - 1, 1)
            loss = tf.reduce_mean(nll) + tf.reduce_mean(kl)
        for index, gradient in enumerate(tape.gradient(loss, variables)):
            if gradient is not None:
                total[index] += np.float64(gradient.numpy()) / draws
    return total


def fit_run(graphs, inputs):
    x, held_out = _digits(inputs["rows"]), _digits(inputs["held_out"])
    # Each negative ELBO is measured on held-out digits by the first calls of a copy of the
    # model loaded on its own, the second one given the trained weights only: a model whose
    # outputs follow a counter of its calls, or replay what it stored, gains nothing.
    before = _elbo(graphs, held_out)
    order = np.random.default_rng(inputs["order"])
    batches = np.array_split(order.permutation(len(x)), len(x) // 50)
    trainable = [v for v in graphs.variables("vae") if v.trainable]
    initial = [v.numpy().astype(np.float64) for v in trainable]
    gradients = _promised_gradients(graphs, "vae", x[batches[0]])
    quiet_logs = _quiet_logs(graphs, x[batches[0]], gradients)
    first_move(graphs, "vae", x[batches[0]])
    steps = [v.numpy() - start for v, start in zip(trainable, initial)]
    for epoch in range(3):
        for batch in batches[1:] if epoch == 0 else batches:
            graphs.call("vae", x[batch], x[batch], endpoint="train_step")
    fresh = type(graphs)(graphs.folder)
    copies = [v for v in fresh.variables("vae") if v.trainable]
    for variable, copy in zip(trainable, copies):
        copy.assign(variable)
    after = _elbo(fresh, held_out)
    return {"before": before, "after": after,
            # Each evaluate draws its own noise: their mean varies less than one of them.
            "reported": [evaluated(fresh, "vae", held_out) for _ in range(EVALUATES)],
            "monte_carlo": _monte_carlo_elbo(fresh, held_out),
            "changed": float(max(np.abs(v.numpy() - start).max()
                                 for v, start in zip(trainable, initial))),
            "descent": float(sum(np.sum(step * gradient)
                                 for step, gradient in zip(steps, gradients))),
            "quiet_logs": quiet_logs}


def _quiet_logs(graphs, x, gradients, scale=3.0):
    """What the first training step on `x` reports, from the exported weights and from the
    same weights with the rows of zero gradient of the first kernel that has some (the input
    kernel's rows of pixels that are 0 in the whole batch) scaled by `scale`, each by a fresh
    copy (the same noise); `None` when no kernel has such rows. Those rows are multiplied by
    0 in the forward pass, so that a loss of reconstruction + beta * KL is the same for both;
    a term on the weights themselves (a kernel_regularizer) is not."""
    index = next((i for i, gradient in enumerate(gradients) if gradient.ndim == 2
                  and 0 < np.all(gradient == 0, axis=1).sum() < len(gradient)), None)
    if index is None:
        return None
    logs = []
    for factor in (1.0, scale):
        copy = type(graphs)(graphs.folder)
        variable = [v for v in copy.variables("vae") if v.trainable][index]
        value = variable.numpy()
        value[np.all(gradients[index] == 0, axis=1)] *= factor
        variable.assign(value)
        logs.append(copy.call("vae", x, x, endpoint="train_step"))
    return logs


def _elbo(graphs, x):
    """The negative ELBO of the model on `x`, computed here from its encoder and decoder, with
    z drawn by NumPy."""
    z_mean, z_log_var = graphs.call("vae", x, endpoint="encoder")
    z = z_mean + np.exp(0.5 * z_log_var) * np.random.default_rng(0).normal(size=z_mean.shape)
    probs = np.clip(graphs.call("vae", z, endpoint="decoder"), 1e-7, 1 - 1e-7)
    return float(witness.bernoulli_nll(x, probs).mean()
                 + witness.kl_divergence(z_mean, z_log_var).mean())


EVALUATES = 16


def _monte_carlo_elbo(graphs, x, draws=32, chunk=1024):
    """The runner's estimate of the expected negative ELBO (beta = 1) per digit, in float64,
    through the exported encoder and decoder: `(value, standard error of one evaluate,
    standard error of the value)`, the errors from the spread of each digit's reconstruction
    over `draws` NumPy noises."""
    z_mean, z_log_var = (np.float64(a) for a in graphs.call("vae", x, endpoint="encoder"))
    rng = np.random.default_rng(1)
    z = (z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None]
         * rng.normal(size=(len(x), draws, z_mean.shape[1]))).reshape(-1, z_mean.shape[1])
    nll = []
    for start in range(0, len(z), chunk):  # a chunk at a time keeps the runner's memory flat
        probs = graphs.call("vae", np.float32(z[start:start + chunk]), endpoint="decoder")
        digits = x[np.arange(start, min(start + chunk, len(z))) // draws]
        nll.append(witness.bernoulli_nll(digits, np.clip(np.float64(probs), 1e-7, 1 - 1e-7)))
    nll = np.concatenate(nll).reshape(len(x), draws)
    kl = witness.kl_divergence(z_mean, z_log_var)
    # One evaluate draws one noise per digit: its batch mean varies by the digits' variances
    # over B**2, and this estimate's own by that over `draws`.
    error = np.sqrt(nll.var(axis=1, ddof=1).sum()) / len(x)
    return [float(nll.mean() + kl.mean()), float(error), float(error / np.sqrt(draws))]


def fit_judge(inputs, observed):
    before = float(array(observed["before"], "loss"))
    after = float(array(observed["after"], "loss"))
    assert np.isfinite(before) and np.isfinite(after), (
        f"Negative ELBO of the VAE on held-out digits, before and after 3 epochs of its "
        f"training step: expected finite values, received {before:.4g} and {after:.4g}.\n"
        "Likely mistake: the encoder or decoder computes inf or NaN (a log of 0, an exp that "
        "overflows).")
    assert float(observed["changed"]) > 0, (
        "Weights after 3 epochs of the VAE's training step: expected them to change, received "
        "the initial weights.\nLikely mistake: no optimizer step, or a learning rate of 0.")
    logs = observed["quiet_logs"]
    if logs is not None:
        plain, scaled = ({str(k): float(array(v, "log")) for k, v in dict(log).items()}
                         for log in logs)
        moved = {k: (plain[k], scaled.get(k)) for k in plain
                 if k not in scaled or not np.isclose(scaled[k], plain[k], rtol=1e-6, atol=1e-6)}
        assert not moved, (
            f"First training step on a batch where some pixels are 0 in every digit, from the "
            f"initial weights and from the same weights with the encoder's weights on those "
            f"pixels tripled (which the negative ELBO on this batch does not depend on): "
            f"expected the same reported loss, received {moved}.\nLikely mistake: the training "
            "loss has terms beyond reconstruction + beta * KL, such as a kernel_regularizer "
            "(the contract's loss is the negative ELBO alone).")
    descent = float(observed["descent"])
    assert descent < 0, (
        "First training step: expected a move against the gradient of the negative ELBO "
        "(reconstruction + beta * KL, computed by the grader through your encoder and "
        "decoder), received "
        + ("no move of the weights.\nLikely mistake: the first step does not update the "
           "weights (an optimizer that accumulates gradients over several steps, or no "
           "optimizer step in a custom train_step)." if descent == 0 else
           "a move along it.\nLikely mistake: the loss has the wrong sign, or the step "
           "follows another loss."))
    losses = array(observed["reported"], "loss").ravel()
    reported = float(losses.mean())
    estimate, one, own = (float(v) for v in observed["monte_carlo"])
    # Evaluates that all report the same value drew the same noise: they count as one.
    count = len(losses) if np.ptp(losses) > 0 else 1
    error = np.sqrt(one**2 / count + own**2)
    assert abs(reported - estimate) <= 6 * error + 1e-4 * abs(estimate) + 1e-2, (
        f"The mean loss of {len(losses)} evaluates on 500 held-out digits after training: "
        f"expected the negative ELBO per digit, mean(bernoulli_nll) + mean(KL), which the "
        f"grader estimates through your encoder and decoder at {estimate:.4f} (standard error "
        f"of the difference {error:.3g}), received {reported:.4f}.\nLikely mistake: the "
        "compiled loss is not "
        "the contract's (keras' binary_crossentropy averages the pixels; the KL of "
        "KLDivergenceLayer is missing), or build_vae treats your own models otherwise than "
        "any others.")
    assert after < before - 1e-4 * abs(before), (
        f"Negative ELBO on held-out digits after 3 epochs of the VAE's training step: expected "
        f"below its start of {before:.1f}, received {after:.1f}.\nLikely mistake: a learning "
        "rate too small to train in 3 epochs (build_vae's default is 1e-3), or outputs that "
        "do not follow the trained weights.")
