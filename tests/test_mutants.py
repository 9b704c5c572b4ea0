"""Every known-wrong implementation in tests/mutants/ fails the rubric items it pins, and
the correct styles that differ from the reference only in `build_vae` pass every VAE item.

Each mutant declares `MUST_FAIL`, the rubric ids its mistake must fail: the items that
exercise the overridden name and catch that mistake at any grading seed. The slow test runs
exactly those items in process, at the public seed and at one other seed, so a change to the
rubric that stops catching a known mistake fails here, naming the mistake and the item.
"""

import ast
import glob
import importlib
import os

import pytest

from keras_vae.graded import feedback, rubric
from keras_vae.graded.inprocess import run_item
from tests.solutions import optimizers

MUTANTS_DIR = os.path.join(os.path.dirname(__file__), "mutants")
MUTANTS = sorted(os.path.basename(p)[:-3]
                 for p in glob.glob(os.path.join(MUTANTS_DIR, "[a-z]*.py")))
# The public seed and one the public bundle never uses: a pin must hold at either.
SEEDS = (rubric.PUBLIC_SEED, 987654)


def declared_must_fail(name):
    """The literal `MUST_FAIL` of a mutant, read without importing it (nor TensorFlow)."""
    with open(os.path.join(MUTANTS_DIR, name + ".py")) as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "MUST_FAIL"):
            return ast.literal_eval(node.value)
    return None


def test_there_are_mutants():
    assert len(MUTANTS) >= 40, MUTANTS


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_pins_known_rubric_ids(mutant):
    """MUST_FAIL is a non-empty tuple of distinct rubric ids."""
    ids = {item.id for item in rubric.rubric()}
    must_fail = declared_must_fail(mutant)
    assert isinstance(must_fail, tuple) and must_fail, (
        f"tests/mutants/{mutant}.py: expected a module-level MUST_FAIL tuple of rubric ids, "
        f"received {must_fail!r}.")
    unknown = [item_id for item_id in must_fail if item_id not in ids]
    assert not unknown, f"{mutant}: MUST_FAIL names ids the rubric does not have: {unknown}"
    assert len(set(must_fail)) == len(must_fail), f"{mutant}: MUST_FAIL repeats an id"


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_fails_its_pinned_items(mutant):
    """Every item the mutant pins fails, at the public seed and at a secret-like seed."""
    module = importlib.import_module(f"tests.mutants.{mutant}")
    assert module.MUST_FAIL == declared_must_fail(mutant)
    items = {item.id: item for item in rubric.rubric()}
    passed = [f"{item_id} (seed {seed})" for seed in SEEDS for item_id in module.MUST_FAIL
              if run_item(items[item_id], module, seed) is None]
    assert not passed, (
        f"Mutant {mutant} ({(module.__doc__ or '').strip()}) passed rubric items it must fail: "
        f"{', '.join(passed)}.")


def _failed_vae_items(module, seed):
    return {f"{item.id} (seed {seed})": message for item in rubric.rubric()
            if item.id.startswith("vae.") for message in [run_item(item, module, seed)] if message}


@pytest.mark.slow
@pytest.mark.parametrize("name", optimizers.OPTIMIZERS)
def test_a_correct_vae_passes_with_each_built_in_optimizer(name):
    """A correct VAE compiled with any built-in Keras optimizer passes every VAE item: the
    optimizer's own variables (Nadam's trainable scalar) are not weights the VAE adds, and
    what its first step owes to its own state (Ftrl's, ScheduleFreeAdamW's) is not judged."""
    failed = _failed_vae_items(optimizers.solution(name), SEEDS[1])
    assert not failed, f"A correct VAE with {name} failed: {failed}"


@pytest.mark.slow
@pytest.mark.parametrize("name", optimizers.OPTIMIZERS)
def test_a_correct_vae_gets_the_learning_rate_point_with_each_built_in_optimizer(name):
    """A correct VAE compiled with any built-in Keras optimizer given learning_rate passes
    vae.learning_rate, Ftrl and ScheduleFreeAdamW included (their first step is not
    proportional to the rate)."""
    item = next(item for item in rubric.rubric() if item.id == "vae.learning_rate")
    message = run_item(item, optimizers.solution(name), SEEDS[1])
    assert message is None, f"A correct VAE with {name} failed vae.learning_rate: {message}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_output_layers_that_start_at_zero_pass_every_network_item(seed):
    """Heads and an output layer initialised with kernels of 0 output constants at the start:
    the grader reads which weights take part at weights it draws, so they all do."""
    module = importlib.import_module("tests.solutions.zero_init")
    failed = {item.id: message for item in rubric.rubric()
              if item.id.split(".")[0] in ("encoder", "decoder")
              for message in [run_item(item, module, seed)] if message}
    assert not failed, failed


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_a_custom_train_step_with_the_added_losses_passes(seed):
    """A subclassed VAE whose own train_step adds sum(self.losses) passes every VAE item."""
    failed = _failed_vae_items(importlib.import_module("tests.solutions.custom_train_step"), seed)
    assert not failed, f"tests/solutions/custom_train_step.py failed: {failed}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_the_keras_tutorial_vae_that_reconstructs_its_input_passes(seed):
    """The Keras tutorial's VAE, whose own train_step and test_step reconstruct the input and
    ignore the targets (`x, _ = data`), passes every VAE item: none evaluates it on targets
    other than its inputs."""
    failed = _failed_vae_items(importlib.import_module("tests.solutions.keras_tutorial"), seed)
    assert not failed, f"tests/solutions/keras_tutorial.py failed: {failed}"


# (mutant, item, words its feedback must hold, words it must not hold): the feedback names the
# mistake the observation shows, and an item failing because of another names that one only.
FEEDBACK = [
    ("kl_layer_builds_on_kl_without_minus_one", "kl_layer.identity", "Fix kl_divergence first",
     "Likely mistake"),
    ("kl_layer_builds_on_kl_without_minus_one", "kl_layer.beta", "Fix kl_divergence first",
     "Likely mistake"),
    ("bernoulli_mean_over_pixels", "bernoulli.finite_at_bounds", "bernoulli.sum_over_pixels",
     "clip"),
    ("bernoulli_mean_over_pixels", "bernoulli.image_shape", "bernoulli.sum_over_pixels",
     "reduce over all axes"),
    ("encoder_stacked_heads", "encoder.hidden_units", "one head is computed from the other",
     "hidden_units is ignored"),
    ("encoder_extra_hidden_layer", "encoder.hidden_units", "received 3 hidden weight matrices",
     "hidden_units is ignored"),
    ("sampling_stops_noise_gradient", "sampling.gradients", "cut from the gradient",
     "z computed outside TensorFlow"),
    ("kl_without_minus_one", "kl.closed_form", "the '- 1' inside the sum is missing", " sign"),
    ("kl_without_minus_one", "kl.zero_at_prior", "the '- 1' inside the sum is missing",
     "not the Gaussian KL"),
    ("kl_sign", "kl.closed_form", "the sign is flipped", "'- 1'"),
    ("kl_log_std", "kl.closed_form", "z_log_var is taken as log(sigma)", "'- 1'"),
    ("kl_mean_over_latent", "kl.closed_form", "the latent axis is averaged", "'- 1'"),
    ("bernoulli_mean_over_pixels", "bernoulli.sum_over_pixels", "the pixels are averaged",
     "both terms"),
    ("bce_mean_over_pixels", "bernoulli.sum_over_pixels", "the pixels are averaged",
     "both terms"),
    ("bernoulli_hardcodes_784", "bernoulli.sum_over_pixels", "784 (MNIST's pixel count) times",
     "both terms"),
    ("bernoulli_missing_one_minus_x", "bernoulli.sum_over_pixels",
     "the (1 - x) * log(1 - probs) term is missing", "sum over"),
    ("bernoulli_missing_one_minus_x", "bernoulli.tfp",
     "the (1 - x) * log(1 - probs) term is missing", "sum over"),
    ("gaussian_without_constant", "gaussian.closed_form", "the normalizing constant",
     "784"),
    ("gaussian_plain_sse", "gaussian.closed_form", "the plain sum of squared errors", "784"),
    ("gaussian_hardcodes_784", "gaussian.closed_form", "D = 784 is written", "2 * sigma**2"),
    ("gaussian_sigma_as_variance", "gaussian.sigma", "sigma is used as a variance", "ignored"),
    ("gaussian_ignores_sigma", "gaussian.sigma", "sigma is ignored", "variance"),
    ("variance_for_std", "reparameterize.formula", "scaled by the variance", "z_log_var itself"),
    ("variance_for_std", "sampling.seed", "Fix reparameterize first", "Likely mistake"),
    ("variance_for_std", "sampling.config", "Fix reparameterize first", "Likely mistake"),
    ("variance_for_std", "sampling.statistics", "Fix reparameterize first", "Likely mistake"),
]


@pytest.mark.slow
@pytest.mark.parametrize("mutant, item_id, said, unsaid", FEEDBACK)
def test_feedback_names_what_the_observation_shows(mutant, item_id, said, unsaid):
    """A failing item's feedback names the mistake it saw, or the item it builds on, never a
    guess that the observation contradicts."""
    module = importlib.import_module(f"tests.mutants.{mutant}")
    items = {item.id: item for item in rubric.rubric()}
    related = {i: items[i] for i in items
               if i == item_id or items[i].uses[0] in items[item_id].uses[1:]}
    rows = {i: {"status": "passed", "message": ""} for i in related}
    for i, item in related.items():
        message = run_item(item, module)
        if message is not None:
            rows[i].update(status="failed", message=message)
    feedback.explain_dependencies(rows, related)
    message = rows[item_id]["message"]
    assert rows[item_id]["status"] == "failed" and said in message and unsaid not in message, (
        f"{mutant}, {item_id}: expected feedback with {said!r} and without {unsaid!r}, "
        f"received {message!r}")


@pytest.mark.slow
@pytest.mark.parametrize("mutant", ["decoder_without_sigmoid", "decoder_ignores_likelihood"])
def test_a_decoder_without_a_sigmoid_loses_the_range_point_alone(mutant):
    """A Bernoulli decoder with a linear output fails decoder.bernoulli_range, which names the
    missing sigmoid, and passes the items that judge its shapes and layers."""
    module = importlib.import_module(f"tests.mutants.{mutant}")
    failed = {item.id: message for item in rubric.rubric() if item.id.startswith("decoder.")
              for message in [run_item(item, module)] if message}
    assert list(failed) == ["decoder.bernoulli_range"] and "no sigmoid" in failed[
        "decoder.bernoulli_range"], f"{mutant}: expected decoder.bernoulli_range alone, received {failed}"


@pytest.mark.slow
def test_a_decoder_with_another_output_activation_is_told_so_once():
    """A tanh output fails decoder.bernoulli_range, which names the activation; the items that
    judge the layers through a sigmoid say they could not judge them and point there, with no
    guess of their own."""
    module = importlib.import_module("tests.mutants.decoder_tanh_output")
    failed = {item.id: message for item in rubric.rubric() if item.id.startswith("decoder.")
              for message in [run_item(item, module)] if message}
    assert "such as tanh" in failed.pop("decoder.bernoulli_range", ""), failed
    for item_id, message in failed.items():
        assert message.startswith("not judged: the decoder's outputs are not probabilities"
                                  ) and "see decoder.bernoulli_range" in message, (
            f"{item_id}: expected a pointer to decoder.bernoulli_range, received {message!r}")
