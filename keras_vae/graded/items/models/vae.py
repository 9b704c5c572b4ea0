"""Graded: `build_vae`, its losses, its sampling, its optimizer and its fit (the reference's
`models.py`): the items, each written in the module of what it judges."""

from keras_vae.graded.item import Item
from keras_vae.graded.items.models.vae_fit import fit_config, fit_inputs, fit_judge, fit_run
from keras_vae.graded.items.models.vae_learning_rate import (vae_learning_rate_judge,
                                                             vae_learning_rate_run)
from keras_vae.graded.items.models.vae_loss import (
    vae_bernoulli_judge, vae_bernoulli_run, vae_beta_judge, vae_beta_run, vae_compiled_judge,
    vae_compiled_run, vae_gaussian_judge, vae_gaussian_run, vae_kl_judge, vae_kl_run)
from keras_vae.graded.items.models.vae_probes import vae_config, vae_inputs
from keras_vae.graded.items.models.vae_sampling import (vae_samples_inputs, vae_samples_judge,
                                                        vae_samples_run)

__all__ = ["ITEMS", "fit_config", "vae_config"]


VAE = ("build_vae", "KLDivergenceLayer", "Sampling", "kl_divergence", "bernoulli_nll",
       "reparameterize")


ITEMS = [
    Item("vae.compiled", 1, "build_vae returns a compiled keras.Model with .encoder, .decoder "
         "and x-shaped output.", ("build_vae",), "vae", vae_inputs, vae_compiled_run,
         vae_compiled_judge),
    Item("vae.bernoulli_loss", 3, "The VAE's loss is mean(bernoulli_nll) + mean(KL) for "
         "likelihood='bernoulli', on flat and image examples.", VAE, "vae", vae_inputs,
         vae_bernoulli_run, vae_bernoulli_judge),
    Item("vae.gaussian_loss", 2, "The VAE's loss is mean(gaussian_nll with sigma) + mean(KL) "
         "for likelihood='gaussian'.", VAE[:5] + ("gaussian_nll", "reparameterize"), "vae",
         vae_inputs, vae_gaussian_run, vae_gaussian_judge),
    Item("vae.beta", 1, "With beta the VAE's loss is mean(nll) + beta * mean(KL), in evaluate "
         "and in the loss its training step reports.", VAE, "vae", vae_inputs, vae_beta_run,
         vae_beta_judge),
    Item("vae.kl_present", 1, "The VAE's loss contains the KL term: moving z_mean away from 0 "
         "raises it by the KL, and the training step follows the KL's gradient.", VAE, "vae",
         vae_inputs, vae_kl_run, vae_kl_judge),
    Item("vae.samples_z", 2, "In training and inference alike the VAE decodes a sample "
         "z ~ q(z|x), not z_mean, and its loss is the negative ELBO at that sample.",
         ("build_vae", "Sampling", "reparameterize", "gaussian_nll"), "vae", vae_samples_inputs,
         vae_samples_run, vae_samples_judge),
    Item("vae.learning_rate", 1, "build_vae's optimizer stores the learning_rate it is given, "
         "and its training step depends on the rate through the stored rate alone.",
         ("build_vae",), "vae", vae_inputs, vae_learning_rate_run, vae_learning_rate_judge),
    Item("vae.fit_lowers_loss", 2, "The VAE's training step descends the negative ELBO alone "
         "(its first step moves against the ELBO's gradient, and the loss it reports ignores the "
         "weights the ELBO ignores); three epochs on 1,000 MNIST digits lower it on held-out "
         "digits, where evaluate reports the negative ELBO of its own encoder and decoder.",
         VAE + ("build_encoder", "build_decoder"), "fit", fit_inputs, fit_run, fit_judge),
]
