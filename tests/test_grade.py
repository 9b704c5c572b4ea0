"""The grader grades: full marks for correct code in any reasonable style, 0 for the stubs,
points lost only where a submission breaks, and a valid, fixed-maximum results.json."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from keras_vae.graded import rubric
from keras_vae.graded import feedback
from keras_vae.graded.feedback import NOT_IMPLEMENTED
from keras_vae.graded.feedback import explain_dependencies
from tests.grading import (ROOT, assert_told_once, max_score, run_grader, scored,
                           venv_other_users_can_run)


def test_rubric_ids_are_unique_points_positive_and_uses_known_names():
    """Every item has a unique stable id, positive points, and builds on contract names."""
    from keras_vae.impl import CONTRACT

    items = rubric.rubric()
    assert len({item.id for item in items}) == len(items)
    assert all(item.points > 0 for item in items)
    assert all(item.uses and set(item.uses) <= set(CONTRACT) for item in items)
    assert set(CONTRACT) == {name for item in items for name in item.uses}


def test_grading_process_never_imports_tensorflow():
    """The grading process makes inputs and judges without TensorFlow (or the submission)."""
    code = ("import sys, keras_vae.grade\n"
            "from keras_vae.graded import grading\n"
            "run = grading.Grading('assignments', [], 0, None, None)\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "assert 'assignments' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_graded_inputs_depend_on_the_seed_and_repeat_for_the_same_seed():
    """The same seed gives the same inputs; another seed gives other inputs and shapes."""
    item = next(i for i in rubric.rubric() if i.id == "bernoulli.sum_over_pixels")
    make_config = rubric.configs()[item.export]
    first, again, other = (rubric.inputs(item, make_config(rubric.config_rng(seed, item.export)),
                                         seed) for seed in (5, 5, 6))
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert first["x"].shape != other["x"].shape or not (first["x"] == other["x"]).all()
    assert first["x"].shape[1] != 784


def test_the_fit_item_runs_in_a_runner_of_its_own_after_the_others():
    items = {item.id: item for item in rubric.rubric()}
    pending = list(items)
    first = rubric.runner_batch(items, pending)
    assert "vae.fit_lowers_loss" not in first and "vae.learning_rate" in first
    rest = [i for i in pending if i not in first]
    assert rubric.runner_batch(items, rest) == ["vae.fit_lowers_loss"] == rest
    # A runner that stopped part-way leaves the rest of its group to the next one.
    assert rubric.runner_batch(items, first[5:] + rest) == first[5:]


def _judge_fit(reported, monte_carlo=(100.0, 0.5, 0.1), descent=-1.0):
    item = next(i for i in rubric.rubric() if i.id == "vae.fit_lowers_loss")
    observed = {"facts": {}, "before": 200.0, "after": 100.0, "changed": 0.1, "descent": descent,
                "quiet_logs": None, "reported": reported, "monte_carlo": list(monte_carlo)}
    try:
        item.judge({}, observed)
    except AssertionError as failure:
        return str(failure)
    return None


def test_fit_judges_the_mean_of_evaluates_that_drew_their_own_noise_more_tightly():
    """Sixteen evaluates 1 nat off the estimate, each with a standard error of 0.5: their mean
    has an error of 0.16 and fails; evaluates that all drew the same noise count as one."""
    spread = [101.0 + 0.3 * (-1) ** k for k in range(16)]
    assert "mean loss of 16 evaluates" in _judge_fit(spread)
    assert _judge_fit([101.0] * 16) is None
    assert _judge_fit([100.2 + 0.3 * (-1) ** k for k in range(16)]) is None


def test_a_first_step_that_moves_nothing_is_told_so_not_that_it_climbs():
    """An optimizer that accumulates gradients over two steps leaves the weights as they were
    after the first: the message says no move, where a step up the gradient is told it climbs."""
    still = _judge_fit([100.0] * 16, descent=0.0)
    assert "received no move of the weights" in still and "accumulates" in still
    assert "move along it" in _judge_fit([100.0] * 16, descent=0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_probes_noise_bound_holds_and_is_tight_for_monte_carlo_noise(seed):
    """The tolerance the `vae.*` loss items add for the sampling noise, against 1,000 NumPy
    draws of z through the probe weights (z_log_var varying by example): every draw's batch
    loss lies within the bound of its value at z_mean, and the largest lies within a factor 4
    of it, so the bound neither fails a correct VAE nor excuses a wrong one."""
    from keras_vae.graded import witness
    from keras_vae.graded.items.models import vae_loss, vae_probes

    rng = np.random.default_rng(seed)
    config = vae_probes.vae_config(rng)
    inputs = vae_probes.vae_inputs(rng, config)
    draws, sigma = np.random.default_rng(100 + seed), config["sigma"]
    cases = [(inputs["x_binary"], False, ""), (vae_loss._aligned(inputs), False, ""),
             (inputs["x_soft"], True, ""), (inputs["x_image"], False, "image_")]
    for x, gaussian, prefix in cases:
        z_mean, z_log_var, _ = vae_probes.forward(inputs, x, prefix=prefix)
        kernel, bias = inputs[prefix + "dec_kernel"], inputs[prefix + "dec_bias"]

        def loss(z):
            out = (z @ kernel + bias).reshape(x.shape)
            nll = (witness.gaussian_nll(x, out, sigma) if gaussian
                   else witness.bernoulli_nll(x, witness.sigmoid(out)))
            return nll.mean()

        std = np.exp(0.5 * z_log_var)
        moves = np.abs([loss(z_mean + std * draws.standard_normal(z_mean.shape)) - loss(z_mean)
                        for _ in range(1000)])
        bound = vae_probes.noise_bound(inputs, x, gaussian, sigma, prefix)
        assert moves.max() < bound < 4 * moves.max(), (x.shape, gaussian, moves.max(), bound)


def test_the_output_tail_keeps_the_end_of_the_submissions_own_output():
    """The exporter runs the submission's code: however much the runners print after it, the
    end of the exporter's output stays in the tail, and the tail stays bounded."""
    from keras_vae.graded.grading import output_tail

    exporter = ["x" * 9000 + "\nsubmission uid 1234567890"]
    runners = ["runner one\n" * 400, "runner two\n" * 400]
    tail = output_tail({"exporter.py": exporter, "runner.py": runners})
    assert "submission uid 1234567890" in tail and tail.endswith("runner two\n")
    assert len(tail) <= 4000
    alone = output_tail({"exporter.py": exporter, "runner.py": []})
    assert len(alone) == 4000 and alone.endswith("submission uid 1234567890")


def test_not_implemented_only_when_the_students_own_code_raises():
    """A stub's NotImplementedError reads 'not implemented yet'; Keras' own reads as Keras'."""
    own = {"type": "NotImplementedError", "message": "build_vae", "in_submission": True}
    keras_error = {"type": "NotImplementedError", "in_submission": False,
                   "message": "Model VAE does not have a `call()` method implemented.",
                   "raised_at": "/x/site-packages/keras/src/models/model.py:10"}
    assert feedback.error_message(own) == NOT_IMPLEMENTED
    message = feedback.error_message(keras_error)
    assert message.startswith("Keras raised NotImplementedError") and "call()" in message
    assert "not implemented yet" not in message


def test_a_failure_names_the_function_to_fix_first():
    """A VAE item that fails because kl_divergence fails its own items says to fix it first."""
    items = {item.id: item for item in rubric.rubric()}
    rows = {i: {"status": "passed", "message": ""} for i in items}
    rows["kl.closed_form"].update(status="failed", message="wrong")
    rows["vae.bernoulli_loss"].update(status="failed", message="loss differs")
    explain_dependencies(rows, items)
    assert "Fix kl_divergence first" in rows["vae.bernoulli_loss"]["message"]
    assert "Fix" not in rows["kl.closed_form"]["message"]


def test_a_failure_names_the_deepest_failing_function_first_and_all_its_failures():
    """A VAE item that fails with KLDivergenceLayer, whose items fail because kl_divergence
    does, names kl_divergence alone, on its first line, with every item it fails, and drops
    its own guess."""
    items = {item.id: item for item in rubric.rubric()}
    rows = {i: {"status": "passed", "message": ""} for i in items}
    kl_items = [i for i in items if i.startswith("kl.") and i != "kl.per_example"]
    for item_id in kl_items + ["kl_layer.identity", "vae.beta"]:
        rows[item_id].update(status="failed",
                             message="expected 1, received 2.\nLikely mistake: a guess.")
    explain_dependencies(rows, items)
    for item_id in ("kl_layer.identity", "vae.beta"):
        first, *rest = rows[item_id]["message"].splitlines()
        assert first == (f"Fix kl_divergence first: it fails {', '.join(kl_items)}, and this "
                         "test builds on it.") and rest == ["expected 1, received 2."], (
            rows[item_id]["message"])


def test_a_failure_with_two_failing_roots_names_both():
    """A VAE item whose kl_divergence and bernoulli_nll both fail names both, in rubric order."""
    items = {item.id: item for item in rubric.rubric()}
    rows = {i: {"status": "passed", "message": ""} for i in items}
    for item_id in ("bernoulli.tfp", "kl.tfp", "vae.bernoulli_loss"):
        rows[item_id].update(status="failed", message="differs")
    explain_dependencies(rows, items)
    assert rows["vae.bernoulli_loss"]["message"].startswith(
        "Fix kl_divergence and bernoulli_nll first: kl_divergence fails kl.tfp; bernoulli_nll "
        "fails bernoulli.tfp; this test builds on them.\n")


def test_bad_flags_exit_2_with_one_line():
    """A bad --timeout prints one line naming the flag and exits 2."""
    completed = subprocess.run([sys.executable, "-m", "keras_vae.grade", "--timeout", "-1"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr == ("error: Invalid value for `--timeout`: expected a positive "
                                "number, received '-1'.\n")


@pytest.mark.parametrize("argv, expected", [
    (["--impl", "no_such_module"], "Invalid value for `--impl`: expected a module of Python "
     "source files, such as assignments, received 'no_such_module', which was not found."),
    (["--workers", "0"], "Invalid value for `--workers`: expected to come with --submissions "
     "DIR, received '0'."),
    (["--out", "grades"], "Invalid value for `--out`: expected to come with --submissions DIR, "
     "received 'grades'."),
    (["--seed", "-3"], "Invalid value for `--seed`: expected a non-negative integer, received "
     "'-3'."),
    (["--submissions", "no/such/folder", "--out", "o"], "Invalid value for `--submissions`: "
     "expected a folder of submissions, received 'no/such/folder'."),
    (["--submissions", ".", "--out", "o", "--workers", "x"], "Invalid value for `--workers`: "
     "expected a positive integer, received 'x'."),
])
def test_flags_that_cannot_be_meant_are_refused_before_any_grading(argv, expected, tmp_path):
    """Nothing is graded for a mistyped module or a class-grading flag given alone."""
    completed = subprocess.run([sys.executable, "-m", "keras_vae.grade", *argv],
                               capture_output=True, text=True, timeout=60, cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": ROOT})
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        2, "", f"error: {expected}\n")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_stubs_score_zero_with_a_reason_for_every_item(tmp_path):
    """The untouched stubs score 0; every item says it is not implemented yet."""
    _, results = run_grader("assignments", tmp_path)
    assert results["score"] == 0
    assert all(test["output"] == NOT_IMPLEMENTED for test in scored(results).values())
    assert results["extra_data"]["flags"] == []


@pytest.mark.slow
def test_a_module_that_fails_to_import_scores_zero_with_the_reason(tmp_path):
    """A submission that raises on import scores 0; the import error is told once, at the first
    item, and every other item points at it."""
    _, results = run_grader("tests.solutions.fails_to_import", tmp_path)
    assert results["score"] == 0
    assert_told_once(results, "could not import")


@pytest.mark.slow
def test_reference_scores_full_marks(tmp_path):
    """The reference implementation scores full marks and prints the score."""
    completed, results = run_grader("keras_vae", tmp_path)
    assert results["score"] == max_score()
    assert f"Score: {max_score()}/{max_score()}" in completed.stdout


@pytest.mark.slow
@pytest.mark.parametrize("solution", ["alternative", "subclassed", "batchnorm_generator",
                                      "guide_subclassed"])
def test_correct_solutions_in_other_styles_score_full_marks(solution, tmp_path):
    """TF/TFP with RMSprop, subclassed models with tuples and squashed Gaussian means,
    networks with BatchNormalization and Dropout whose noise comes from an unseeded
    tf.random.Generator, and the Keras guide's subclassed steps whose logs nest the compiled
    metrics."""
    _, results = run_grader(f"tests.solutions.{solution}", tmp_path, "--seed", "31337")
    failed = {k: t["output"] for k, t in scored(results).items() if t["status"] == "failed"}
    assert results["score"] == max_score(), failed


@pytest.mark.slow
def test_a_vae_without_call_is_told_what_keras_said(tmp_path):
    """A keras.io-style VAE without call loses the VAE items with Keras' own message."""
    _, results = run_grader("tests.solutions.keras_io_style", tmp_path)
    vae_items = [t for k, t in scored(results).items() if k.startswith("vae.")]
    failed = [t for t in vae_items if t["status"] == "failed"]
    assert failed and all("Keras raised NotImplementedError" in t["output"] for t in failed)
    assert all("not implemented yet" not in t["output"] for t in scored(results).values())


@pytest.mark.slow
def test_a_crashing_submission_loses_only_the_crashing_tests(tmp_path):
    """A submission that kills its process in reparameterize loses only the items calling it."""
    _, results = run_grader("tests.solutions.crashes", tmp_path)
    failed = {k for k, t in scored(results).items() if t["status"] == "failed"}
    assert "reparameterize.formula" in failed and "kl.closed_form" not in failed
    assert any("building your graphs failed: the process ended with exit status 3" in t["output"]
               for t in scored(results).values())
    assert 0 < results["score"] < max_score()


@pytest.mark.slow
def test_a_hanging_submission_times_out_and_is_graded(tmp_path):
    """A kl_divergence that never returns costs the KL items only, after the per-item timeout."""
    _, results = run_grader("tests.solutions.hangs", tmp_path, "--timeout", "5")
    failed = {k for k, t in scored(results).items() if t["status"] == "failed"}
    assert "kl.closed_form" in failed and "reparameterize.formula" not in failed
    assert 0 < results["score"] < max_score()


@pytest.mark.slow
def test_same_code_same_score(tmp_path):
    """Grading the same submission twice gives the same per-item results."""
    _, first = run_grader("tests.mutants.kl_sign", tmp_path)
    _, second = run_grader("tests.mutants.kl_sign", tmp_path)
    assert ([(t["number"], t["status"]) for t in first["tests"]]
            == [(t["number"], t["status"]) for t in second["tests"]])


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_a_sandboxed_child_cannot_write_the_graders_files_or_signal_it(tmp_path):
    """Run as a fresh user id, a child cannot write a root-owned folder or kill the grader."""
    from keras_vae.graded import sandbox

    _, (user,) = sandbox.fresh_identities(1)
    results = tmp_path / "results"
    results.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, user.uid, user.gid)
    script = (f"id -u; touch {results}/results.json && echo wrote; "
              f"kill -9 {os.getpid()} && echo killed; echo done")
    read_fd, write_fd = os.pipe()
    child = sandbox.Child(["/bin/sh", "-c", script], b"", write_fd, str(home), user)
    os.close(write_fd)
    child.process.wait(timeout=30)
    os.close(read_fd)
    output = child.output()
    assert output.splitlines()[0] == str(user.uid) and "done" in output
    assert "wrote" not in output and "killed" not in output
    assert not (results / "results.json").exists()


def test_folders_the_sandbox_user_can_write_are_found(tmp_path):
    """A folder owned by the sandbox user, or writable by all (sticky or not), is unsafe to
    grade from; a root-owned 0755 folder is safe."""
    from keras_vae.graded import sandbox

    user = (65534, 65534, "nobody")
    safe, shared, owned = tmp_path / "safe", tmp_path / "shared", tmp_path / "owned"
    for folder in (safe, shared, owned):
        folder.mkdir()
    os.chmod(safe, 0o755)
    os.chmod(shared, 0o1777)
    os.chown(owned, 65534, 65534)
    assert sandbox.writable_by(user, [str(safe), str(shared), str(owned)]) == sorted(
        [str(shared), str(owned)])


@pytest.mark.slow
def test_as_root_a_staged_submission_runs_and_the_reference_is_out_of_its_reach(tmp_path):
    """Graded as root, with a Python fresh user ids can run, from a folder only root can read:
    a correct submission is the code that runs (full marks, never the bundle's stubs), and a
    submission that imports the reference solution finds none and is flagged."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="keras-vae-venv-", dir="/tmp"))
    folder.chmod(0o755)  # the venv inside is for every user; each staging folder is root's
    try:
        python = venv_other_users_can_run(folder / "venv")
        if python is None:
            pytest.skip("no Python here that root and fresh user ids can both run")
        solution = os.path.join(ROOT, "tests", "solutions", "alternative.py")
        uploads = {"correct": open(solution).read(),
                   "borrower": "from keras_vae.reference.layers import *\n"
                               "from keras_vae.reference.losses import *\n"
                               "from keras_vae.reference.models import *\n"}
        scores = {}
        for name, text in uploads.items():
            staging = folder / name
            (staging / "assignments").mkdir(parents=True)
            (staging / "assignments" / "__init__.py").write_text(text)
            staging.chmod(0o700)
            path = staging / "results.json"
            completed = subprocess.run(
                [python, "-m", "keras_vae.grade", "--impl", "assignments", "--json", str(path)],
                cwd=staging, capture_output=True, text=True, timeout=600,
                env=dict(os.environ, PYTHONPATH=ROOT))
            assert completed.returncode == 0, completed.stderr[-2000:]
            results = json.loads(path.read_text())
            assert results["extra_data"]["containment"].startswith(
                "the submission ran as fresh user ids"), results["extra_data"]["containment"]
            scores[name] = results["score"]
            if name == "borrower":
                first = next(iter(scored(results).values()))["output"]
                assert "No module named 'keras_vae.reference'" in first, first
                assert any("imports the reference solution" in flag
                           for flag in results["extra_data"]["flags"])
        assert scores == {"correct": max_score(), "borrower": 0}, scores
    finally:
        shutil.rmtree(folder)
