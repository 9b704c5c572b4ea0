"""Graded: the loss `build_vae` compiles (`vae.compiled`, `vae.bernoulli_loss`,
`vae.gaussian_loss`, `vae.beta`, `vae.kl_present`), on the probe VAEs."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.items.models.vae_probes import (evaluated, first_move, forward,
                                                      noise_bound, posterior_std, probe_weights)
from keras_vae.graded.witness import array, expect_close, expect_shape


def vae_compiled_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", probe_weights(inputs))
    return {"output": graphs.call("bernoulli", inputs["x_binary"][:3])}


def vae_compiled_judge(inputs, observed):
    facts = observed["facts"]
    assert facts.get("is_model") is True and facts.get("compiled") is True, (
        f"Expected a compiled keras.Model, received {facts.get('type')} "
        f"(compiled={facts.get('compiled')}).")
    assert facts.get("encoder_is") is True and facts.get("decoder_is") is True, (
        "Expected vae.encoder and vae.decoder to be the models passed in.")
    x = inputs["x_binary"][:3]
    expect_shape(observed["output"], x.shape, "vae(x)")
    # vae(x) is the decoder's output at z = z_mean + std * eps: each logit lies within
    # 6 * (std @ |C|) of its value at z_mean (every |eps| under 6 but for a probability of
    # 2e-9 each), and a sigmoid's slope is at most 1/4.
    std = posterior_std(inputs, x)
    expect_close(observed["output"], forward(inputs, x)[2], "vae(x) with the probe models",
                 "vae(x) must return the decoder's reconstruction of the sampled z.",
                 rtol=1e-4, atol=1e-5 + 1.5 * (std @ np.abs(inputs["dec_kernel"])))


def vae_bernoulli_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", probe_weights(inputs))
    graphs.set_by_shape("image", probe_weights(inputs, prefix="image_"))
    return {"loss": evaluated(graphs, "bernoulli", inputs["x_binary"]),
            "image_loss": evaluated(graphs, "image", inputs["x_image"])}


def vae_bernoulli_judge(inputs, observed):
    x = inputs["x_binary"]
    z_mean, z_log_var, probs = forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, "vae.evaluate loss (Bernoulli, beta=1)",
                 "compile with loss=bernoulli_nll (summed over pixels, not 'mse' nor keras' "
                 "averaged binary_crossentropy) and add the KL with KLDivergenceLayer.",
                 rtol=1e-4, atol=1e-2 + noise_bound(inputs, x))
    x = inputs["x_image"]
    z_mean, z_log_var, probs = forward(inputs, x, prefix="image_")
    expected = (witness.bernoulli_nll(x, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["image_loss"], expected,
                 f"vae.evaluate loss (Bernoulli, beta=1) on images of shape {x.shape[1:]}",
                 "the reconstruction loss must sum over every pixel of an image, all axes but "
                 "the batch (a loss reduced over the last axis only, or scaled by "
                 "x.shape[-1], is right for flat examples alone).", rtol=1e-4,
                 atol=1e-2 + noise_bound(inputs, x, prefix="image_"))


def vae_gaussian_run(graphs, inputs):
    graphs.set_by_shape("gaussian", probe_weights(inputs))
    return {"loss": evaluated(graphs, "gaussian", inputs["x_soft"])}


def vae_gaussian_judge(inputs, observed):
    x, sigma = inputs["x_soft"], inputs["sigma"]
    z_mean, z_log_var, mean = forward(inputs, x, gaussian=True)
    expected = (witness.gaussian_nll(x, mean, sigma).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (Gaussian, sigma={sigma})",
                 "build_vae must pick gaussian_nll(x, mean, sigma) when likelihood='gaussian' "
                 "and pass sigma on.", rtol=1e-4,
                 atol=1e-2 + noise_bound(inputs, x, gaussian=True, sigma=sigma))


def vae_beta_run(graphs, inputs):
    x = inputs["x_binary"]
    graphs.set_by_shape("beta", probe_weights(inputs))
    observed = {"loss": evaluated(graphs, "beta", x)}
    # The training step reports the loss at the weights before its update, those evaluated.
    logs = graphs.call("beta", x, x, endpoint="train_step")
    assert isinstance(logs, dict) and "loss" in logs, (
        f"vae.train_step: expected a `loss` among the reported metrics, received "
        f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}.")
    observed["train_loss"] = logs["loss"]
    return observed


def vae_beta_judge(inputs, observed):
    x, beta = inputs["x_binary"], inputs["beta"]
    z_mean, z_log_var, probs = forward(inputs, x)
    expected = (witness.bernoulli_nll(x, probs).mean()
                + beta * witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(observed["loss"], expected, f"vae.evaluate loss (beta={beta})",
                 "pass beta to KLDivergenceLayer(beta).", rtol=1e-4,
                 atol=1e-2 + noise_bound(inputs, x))
    expect_close(observed["train_loss"], expected,
                 f"the loss the first training step reports (beta={beta}), at the weights "
                 "before its update",
                 "the training step must minimize mean(nll) + beta * mean(KL) too, e.g. a "
                 "custom train_step that adds the KL with weight 1 instead of the layers' "
                 "losses (sum(self.losses)).", rtol=1e-4, atol=1e-2 + noise_bound(inputs, x))


def vae_kl_run(graphs, inputs):
    graphs.set_by_shape("bernoulli", probe_weights(inputs))
    x = inputs["x_binary"]
    observed = {"loss": evaluated(graphs, "bernoulli", x),
                "aligned_loss": evaluated(graphs, "bernoulli", _aligned(inputs))}
    # One training step (the first call that moves a weight) with the decoder ignoring z, so
    # that the encoder's gradient is the KL's alone, and z_log_var = b (B = 0, where Ftrl's
    # state, which assumes weights start at 0, agrees with the weights); less the step of a
    # fresh copy, as many calls, on a batch of zeros, where z_mean = 0 and the KL's gradient
    # on A and B is 0, so that what an optimizer does from its state alone
    # (ScheduleFreeAdamW's copy of the weights it was built with, Ftrl's pull of A to 0)
    # cancels. Evaluating changes neither the optimizer's state nor, once these weights are
    # set, the weights.
    weights = probe_weights(inputs, decoder_scale=0.0, log_var_scale=0.0)
    steps, calls = [], None
    for copy, batch in ((graphs, x), (type(graphs)(graphs.folder), np.zeros_like(x))):
        copy.set_by_shape("bernoulli", weights)
        calls = first_move(copy, "bernoulli", batch, calls)
        steps.append({tuple(v.shape): v.numpy() - weights[tuple(v.shape)]
                      for v in copy.variables("bernoulli") if v.trainable})
    d = inputs["enc_kernel"].shape[1]
    observed["step_kernel"] = steps[0][(d, d)] - steps[1][(d, d)]
    return observed


def _aligned(inputs):
    """Binary examples in [0, 1] whose z_mean is far from 0: row b has the pixels on which
    column b % d of the encoder kernel has the sign (-1)**(b // d), so z_mean[b, b % d] is the
    sum of that column's entries of that sign."""
    kernel = inputs["enc_kernel"]
    d = kernel.shape[1]
    rows = [(-1) ** (b // d % 2) * kernel[:, b % d] > 0 for b in range(len(inputs["x_binary"]))]
    return np.array(rows, np.float32)


def vae_kl_judge(inputs, observed):
    # Both batches are evaluated with targets equal to inputs, so that a VAE that
    # reconstructs its input (the Keras tutorial's `x, _ = data`) is judged alike. The two
    # losses differ by the reconstruction of each batch, known at z_mean up to the noise, and
    # by the KL, large on the second batch.
    losses, bound = [], 1e-2
    for batch in (inputs["x_binary"], _aligned(inputs)):
        z_mean, z_log_var, probs = forward(inputs, batch)
        losses.append((witness.bernoulli_nll(batch, probs).mean(),
                       witness.kl_divergence(z_mean, z_log_var).mean()))
        bound += noise_bound(inputs, batch)
    expected = (losses[1][0] - losses[0][0]) + (losses[1][1] - losses[0][1])
    received = (float(array(observed["aligned_loss"], "loss"))
                - float(array(observed["loss"], "loss")))
    expect_close(received, expected, "evaluate's loss on a batch whose z_mean is far from 0, "
                 "less its loss on the binary batch; the KL accounts for "
                 f"{losses[1][1] - losses[0][1]:.5g} of that",
                 "the KL divergence is missing from the loss: the model needs a "
                 "KLDivergenceLayer on [z_mean, z_log_var].", rtol=1e-3, atol=bound)
    # d KL / d B = z_mean^T (0.5 * (exp(b) - 1)) / batch_size, with exp(b) under 0.02: the KL
    # pulls row i of B along the batch mean of z_mean[:, i]; without the KL, B's gradient is
    # 0 on both batches and the two steps are the same.
    pull = (np.float64(inputs["x_binary"]) @ inputs["enc_kernel"]).mean(axis=0)
    kernel = array(observed["step_kernel"], "step")
    expect_shape(kernel, (len(pull), len(pull)), "the z_log_var head's kernel step")
    rows = np.abs(pull) >= 0.2 * np.abs(pull).max()
    assert np.all(kernel[rows] * pull[rows, None] > 0), (
        f"One training step with a decoder that ignores z, so that the encoder's gradient is "
        f"the KL's alone, less the step on a batch of zeros (where the KL's gradient on the "
        f"z_log_var head's kernel is 0): expected the kernel to move against the KL's gradient "
        f"(signs {np.sign(pull[rows]).astype(int)} on its rows {np.flatnonzero(rows)}), "
        f"received moves of {np.round(kernel[rows, 0], 7)}.\nLikely mistake: the training step "
        "leaves out the losses the layers add (the KL of KLDivergenceLayer), e.g. a custom "
        "train_step whose loss is the reconstruction only: add sum(self.losses).")
