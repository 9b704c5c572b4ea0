"""Submissions written to cheat get nothing: each implements nothing and tries one move of the
threat model; each scores 0 with a valid results.json and the full maximum."""

import os
import time

import pytest

from tests.grading import assert_told_once, max_score, run_grader, scored

SECRET = ["--seed", "424242"]


def review(results):
    return next(t for t in results["tests"] if t["number"] == "instructor.review")


@pytest.mark.slow
@pytest.mark.parametrize("adversary", [
    "forge_results_files", "patch_pytest_and_judges", "forge_channel", "exits_in_tests",
    "hardcodes_public_inputs"])
def test_an_adversary_scores_zero_and_is_flagged(adversary, tmp_path):
    """Forged files, patched judges, forged channel messages, exits and public answers get 0."""
    _, results = run_grader(f"tests.adversarial.{adversary}", tmp_path, *SECRET)
    assert results["score"] == 0, [t["number"] for t in results["tests"] if t["score"]]
    assert review(results)["status"] == "failed" and results["extra_data"]["flags"], (
        "expected the instructor review to list the adversary's code")


@pytest.mark.slow
def test_graphs_that_reach_outside_are_refused_and_listed_for_the_instructor(tmp_path):
    """Graphs calling Python, reading files or holding resources are not run, and each refused
    item is listed in the instructor's review, as its feedback says."""
    _, results = run_grader("tests.adversarial.graph_escapes", tmp_path, *SECRET)
    assert results["score"] == 0
    refused = [line for line in results["extra_data"]["flags"]
               if ": its exported graph was refused (" in line]
    outputs = [t["output"] for t in scored(results).values()]
    told = [text for text in outputs if "this is flagged for the instructor" in text]
    assert refused and len(refused) >= len(told) > 0, (refused, told)
    assert "its exported graph was refused" in review(results)["output"]


@pytest.mark.slow
def test_public_answers_score_only_under_the_public_seed(tmp_path):
    """A table of answers for the public inputs earns the KL points there, and nothing under the
    autograder's secret seed (proving the secret seed is what defeats it)."""
    _, public = run_grader("tests.adversarial.hardcodes_public_inputs", tmp_path, "--seed", "0")
    assert public["score"] > 0
    _, secret = run_grader("tests.adversarial.hardcodes_public_inputs", tmp_path, *SECRET)
    assert secret["score"] == 0


@pytest.mark.slow
def test_exiting_at_import_scores_zero_with_the_reason(tmp_path):
    """A submission that ends its process with status 0 at import gets 0, told once: the first
    item says so and the others point at it."""
    _, results = run_grader("tests.adversarial.exits_at_import", tmp_path)
    assert results["score"] == 0
    assert_told_once(results, "could not be imported", "exit status 0")


@pytest.mark.slow
def test_printing_without_limit_is_truncated(tmp_path):
    """60 MB of output costs nothing and leaves a results.json of a sane size."""
    completed, results = run_grader("tests.adversarial.prints_without_limit", tmp_path)
    assert results["score"] == 0
    assert os.path.getsize(tmp_path / "prints_without_limit-results.json") < 200_000
    assert "Score: 0/" in completed.stdout and len(completed.stdout) < 50_000


@pytest.mark.slow
def test_allocating_all_memory_ends_with_the_limit_named(tmp_path):
    """A submission that allocates without end while it is imported is stopped at the memory
    limit and told so, once."""
    _, results = run_grader("tests.adversarial.allocates_all_memory", tmp_path,
                            "--memory-limit", "1500")
    assert results["score"] == 0
    assert_told_once(results, "used more than 1500 MB")


@pytest.mark.slow
def test_sleeping_forever_at_import_times_out(tmp_path):
    """A submission whose import never ends is stopped after the timeout, told once."""
    started = time.monotonic()
    _, results = run_grader("tests.adversarial.sleeps_forever", tmp_path, "--timeout", "5")
    assert time.monotonic() - started < 60
    assert results["score"] == 0
    assert_told_once(results, "took longer than 5 s")


@pytest.mark.slow
def test_exports_that_stall_end_at_the_deadline_with_results(tmp_path):
    """Exports that each stall for their whole time, together far past the deadline, end at the
    deadline: results.json is written within start-up and a few seconds of it."""
    started = time.monotonic()
    _, results = run_grader("tests.adversarial.stalls_every_export", tmp_path, "--timeout", "8",
                            "--deadline", "30")
    elapsed = time.monotonic() - started
    assert elapsed < 30 + 30, f"expected results.json by the deadline and start-up, took {elapsed:.0f} s"
    assert results["score"] == 0
    assert any("deadline of 30 s" in t["output"] for t in scored(results).values())


@pytest.mark.slow
def test_a_deadline_still_writes_results(tmp_path):
    """When the overall deadline passes, results.json is written with every unfinished item 0."""
    _, results = run_grader("keras_vae", tmp_path, "--deadline", "8")
    unfinished = [t for t in scored(results).values() if t["score"] == 0]
    assert unfinished and all("deadline of 8 s" in t["output"] for t in unfinished)
    assert results["score"] < max_score()


@pytest.mark.slow
def test_a_detached_process_is_killed_before_it_can_write(tmp_path):
    """A double-forked, setsid'd writer is ended with the grading; results.json stays true.

    The grader passes no environment of its own to the submission, so the writer leaves its
    mark at its default path."""
    mark = "/tmp/keras-vae-adversary-mark"
    if os.path.exists(mark):
        os.remove(mark)
    _, results = run_grader("tests.adversarial.detaches_a_writer", tmp_path)
    time.sleep(6)
    assert not os.path.exists(mark), "the detached process outlived the grading"
    path = tmp_path / "detaches_a_writer-results.json"
    import json

    assert json.loads(path.read_text())["score"] == 0 == results["score"]
