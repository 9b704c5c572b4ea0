"""The grader grades: full marks for correct code, points lost for each known mistake,
and a valid, fixed-denominator results.json whatever the submission does."""

import glob
import json
import os

import jsonschema
import pytest

from keras_vae import grade

MAX_SCORE = 50
SCHEMA = os.path.join(os.path.dirname(__file__), "gradescope_results.schema.json")
MUTANTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(
    os.path.join(os.path.dirname(__file__), "mutants", "[a-z]*.py")))


def score(rows):
    return sum(row["points"] for row in rows if row["status"] == "passed")


def graded_results(impl, tmp_path, timeout=60):
    path = tmp_path / "results.json"
    assert grade.main(["--impl", impl, "--json", str(path), "--timeout", str(timeout)]) == 0
    results = json.loads(path.read_text())
    jsonschema.validate(results, json.loads(open(SCHEMA).read()))
    assert sum(test["max_score"] for test in results["tests"]) == MAX_SCORE
    return results


def test_reference_scores_full_marks(tmp_path, capsys):
    """The reference implementation scores 50/50 and results.json is valid."""
    results = graded_results("keras_vae", tmp_path)
    assert results["score"] == MAX_SCORE
    assert f"Score: {MAX_SCORE}/{MAX_SCORE}" in capsys.readouterr().out


def test_stubs_score_zero_with_a_reason_for_every_item(tmp_path):
    """The untouched stubs score 0/50; every item says it is not implemented yet."""
    results = graded_results("assignments", tmp_path)
    assert results["score"] == 0
    assert all("not implemented" in test["output"] for test in results["tests"])


def test_a_module_that_fails_to_import_scores_zero_with_the_reason(tmp_path):
    """A submission that raises on import scores 0/50, each item naming the import error."""
    results = graded_results("tests.solutions.fails_to_import", tmp_path)
    assert results["score"] == 0
    assert all("could not import" in test["output"] for test in results["tests"])


def test_rubric_ids_are_unique_and_points_positive():
    """Every graded test has a unique stable id and positive points."""
    rows, _ = grade.grade("keras_vae")
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) and all(row["points"] > 0 for row in rows)
    assert sum(row["points"] for row in rows) == MAX_SCORE


@pytest.mark.slow
def test_a_crashing_submission_loses_only_the_crashing_tests(tmp_path):
    """A submission that kills its process in reparameterize loses only the tests that call it."""
    results = graded_results("tests.solutions.crashes", tmp_path)
    failed = {t["number"] for t in results["tests"] if t["status"] == "failed"}
    assert "reparameterize.formula" in failed and "kl.closed_form" not in failed
    assert any("crashed" in t["output"] for t in results["tests"])
    assert 0 < results["score"] < MAX_SCORE


@pytest.mark.slow
def test_a_hanging_submission_times_out_and_is_graded(tmp_path):
    """A kl_divergence that never returns costs the KL tests only, after the per-test timeout."""
    results = graded_results("tests.solutions.hangs", tmp_path, timeout=5)
    failed = {t["number"] for t in results["tests"] if t["status"] == "failed"}
    assert "kl.closed_form" in failed and "reparameterize.formula" not in failed
    assert 0 < results["score"] < MAX_SCORE


@pytest.mark.slow
def test_an_alternative_correct_solution_scores_full_marks(tmp_path):
    """A correct solution written unlike the reference (TFP, tanh, RMSprop) scores 50/50."""
    assert graded_results("tests.solutions.alternative", tmp_path)["score"] == MAX_SCORE


@pytest.mark.slow
def test_same_code_same_score():
    """Grading the same submission twice gives the same per-item results."""
    first, _ = grade.grade("tests.mutants.kl_sign")
    second, _ = grade.grade("tests.mutants.kl_sign")
    assert [(r["id"], r["status"]) for r in first] == [(r["id"], r["status"]) for r in second]


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_known_mistake_loses_points(mutant):
    """Every known-wrong implementation scores below full marks."""
    rows, _ = grade.grade(f"tests.mutants.{mutant}")
    assert len(rows) == 38 and score(rows) < MAX_SCORE, f"{mutant} scored {score(rows)}"
