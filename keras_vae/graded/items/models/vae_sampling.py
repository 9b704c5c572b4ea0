"""Graded: `vae.samples_z`, the VAE decodes a sampled z in training and inference alike, and
its loss is the negative ELBO at that sample."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.items.models.vae_probes import evaluated
from keras_vae.graded.witness import array, expect_close, expect_shape


def vae_samples_inputs(rng, config):
    """Data in [0, 1] and weights drawn at random for the Gaussian probe VAE of 3 pixels and
    2 latent dimensions: `z_mean = x @ A`, `z_log_var = z_mean @ B + b`, `mean = z @ C + c`."""
    return {"x": rng.uniform(size=(SAMPLES, 3)).astype(np.float32),
            "enc_kernel": rng.normal(size=(3, 2)),
            "log_var_kernel": rng.normal(scale=0.2, size=(2, 2)),
            "log_var_bias": np.log(rng.uniform(2.0, 6.0, size=2)),
            "dec_kernel": rng.normal(size=(2, 3)), "dec_bias": rng.normal(scale=0.1, size=3)}


SAMPLES = 5000


def vae_samples_run(graphs, inputs):
    graphs.set_by_shape("samples", {(3, 2): inputs["enc_kernel"], (2, 2): inputs["log_var_kernel"],
                                    (2,): inputs["log_var_bias"], (2, 3): inputs["dec_kernel"],
                                    (3,): inputs["dec_bias"]})
    return {"samples": graphs.call("samples", inputs["x"], endpoint="call_training"),
            "inference": graphs.call("samples", inputs["x"], endpoint="call"),
            "loss": evaluated(graphs, "samples", inputs["x"])}


def vae_samples_judge(inputs, observed):
    x = np.float64(inputs["x"])
    z_mean = x @ inputs["enc_kernel"]
    std = np.exp(0.5 * (z_mean @ inputs["log_var_kernel"] + inputs["log_var_bias"]))
    size = len(x)
    for key, what in (("samples", "vae(x, training=True)"), ("inference", "vae(x)")):
        means = array(observed[key], what)
        expect_shape(means, x.shape, f"{what} with a linear decoder")
        # The decoder's kernel has rank 2: the decoded z is recovered exactly.
        z = (means - inputs["dec_bias"]) @ np.linalg.pinv(inputs["dec_kernel"])
        noise = (z - z_mean) / std
        spread, centre = noise.std(axis=0), noise.mean(axis=0)
        hint = ("the decoder is fed z_mean (no spread) instead of the Sampling layer's z, or the "
                "variance is used as the standard deviation.")
        if key == "inference" and np.all(spread < 1e-3):
            hint = ("z_mean is decoded outside training; vae(x) samples z in training and "
                    "inference alike.")
        # Bounds of 6 standard errors: a correct VAE fails with probability below 1e-8.
        assert np.all(np.abs(spread - 1) < 6 / np.sqrt(2 * size)), (
            f"Decoded z in {what}, standardized by the posterior of each row: expected standard "
            f"deviation 1, received {np.round(spread, 3)}.\nLikely mistake: {hint}")
        assert np.all(np.abs(centre) < 6 / np.sqrt(size)), (
            f"Decoded z in {what}, standardized by the posterior of each row: expected mean 0, "
            f"received {np.round(centre, 3)}.\nLikely mistake: z must be centred on z_mean.")
    _judge_sampled_loss(inputs, observed["loss"])


def _judge_sampled_loss(inputs, loss):
    """The loss evaluate reports is the negative ELBO at the sampled z (sigma = 1, beta = 1):
    with mean = m + u, u = (std * eps) @ C ~ N(0, S) and S = C^T diag(std**2) C per example,
    0.5 * |x - mean|**2 = 0.5 * |r|**2 - r . u + 0.5 * |u|**2 (r = x - m) has mean
    0.5 * |r|**2 + 0.5 * tr(S) and variance r^T S r + 0.5 * tr(S @ S); the batch mean lies
    within 6 standard errors of its expectation (the mean of 5000 independent terms is near
    normal), while the loss at z_mean lies 0.5 * mean(tr(S)) below it."""
    x = np.float64(inputs["x"])
    z_mean = x @ inputs["enc_kernel"]
    z_log_var = z_mean @ inputs["log_var_kernel"] + inputs["log_var_bias"]
    kernel, size = inputs["dec_kernel"], len(x)
    residual = x - (z_mean @ kernel + inputs["dec_bias"])
    covariance = np.einsum("ji,bj,jk->bik", kernel, np.exp(z_log_var), kernel)
    trace = np.trace(covariance, axis1=1, axis2=2)
    variance = (np.einsum("bi,bik,bk->b", residual, covariance, residual)
                + 0.5 * np.einsum("bik,bki->b", covariance, covariance))
    at_z_mean = (witness.gaussian_nll(x, x - residual, 1.0).mean()
                 + witness.kl_divergence(z_mean, z_log_var).mean())
    expected = at_z_mean + 0.5 * trace.mean()
    received = float(array(loss, "loss"))
    hint = ("the loss decodes z_mean instead of the sampled z: the loss must be the negative "
            "ELBO at z = z_mean + exp(z_log_var / 2) * eps, the z that vae(x) decodes."
            if abs(received - at_z_mean) < abs(received - expected) else
            "the loss is not mean(gaussian_nll) + mean(KL) at the sampled z.")
    expect_close(loss, expected, "vae.evaluate loss of the Gaussian VAE with a wide posterior "
                 f"(its value at z_mean would be {at_z_mean:.5g})", hint, rtol=1e-5,
                 atol=1e-3 + 6 * np.sqrt(variance.sum()) / size)
