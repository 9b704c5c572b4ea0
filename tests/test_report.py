"""What a grading prints and writes is bounded and plain: whatever the submission says is shown
escaped, never obeyed, and no list or text grows with what the submission does."""

import json
import os
import re
import subprocess
import sys

import pytest

from keras_vae.graded import report, rubric
from tests.grading import ROOT, max_score, run_grader

SPOOF = ("\n\r\x1b[2K\x1b[1Avae.fit_lowers_loss                2/2    PASS Three epochs"
         "\n\x1b[0mScore: 54/54\u202e\udc80")
FAKE_PASS = re.compile(r"^\S+\s+\d+/\d+\s+PASS", re.MULTILINE)


def _failed_rows(message):
    return list(rubric.rows(rubric.rubric(), "failed", message).values())


def test_plain_escapes_controls_overrides_and_lone_surrogates():
    """Escape, carriage return, bidirectional override and a lone surrogate come out as their
    escapes; new lines, tabs and ordinary letters (Greek included) stay."""
    assert report.plain("a\x1b[2J\rb\u202ec\udc80\n\tσ") == "a\\x1b[2J\\rb\\u202ec\\udc80\n\tσ"


def test_a_message_cannot_print_a_rubric_line_of_its_own():
    """A failure message with new lines and escapes prints only indented, escaped lines: no line
    of the table reads as a passed item or a score but the table's own."""
    table = report.format_rubric(_failed_rows(SPOOF))
    assert not FAKE_PASS.search(table), table[:2000]
    scores = [line for line in table.splitlines() if line.startswith("Score:")]
    assert scores == [f"Score: 0/{rubric.max_score()}"], scores
    assert "\x1b" not in table and "\r" not in table and "\udc80" not in table
    table.encode("utf-8")  # strict: raises if anything unencodable is left


def test_results_json_is_bounded_whatever_the_findings():
    """232,827 findings make 50 listed and one line counting the rest; the whole results.json
    stays under 100 kB."""
    findings = [f"upload.py:{n}: names the grader's files or /proc" for n in range(232_827)]
    results = report.gradescope_results(_failed_rows("no"), 1.0, "table",
                                        {"findings": findings, "output_tail": SPOOF * 10_000})
    flags = results["extra_data"]["flags"]
    assert len(flags) == 51 and flags[-1] == "... and 232777 more findings", flags[-1]
    size = len(json.dumps(results))
    assert size < 100_000, f"expected results.json under 100 kB, received {size} bytes"


def test_the_table_prints_on_a_terminal_that_takes_only_ascii():
    """Printing the table where standard output is strict ASCII writes escapes, never fails."""
    script = ("from keras_vae.graded import report\n"
              "report.print_text('σ Score: 1/2 \\u2713')\n")
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                               text=True, env=dict(os.environ, PYTHONIOENCODING="ascii:strict"))
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert completed.stdout == "\\u03c3 Score: 1/2 \\u2713\n", repr(completed.stdout)


@pytest.mark.slow
def test_an_exception_written_to_forge_the_table_forges_nothing(tmp_path):
    """A submission failing with escapes, new lines and a lone surrogate in its message gets a
    results.json of 0 and a printed table with no fake line, on a strict UTF-8 terminal."""
    completed, results = run_grader("tests.adversarial.forges_the_table", tmp_path,
                                    env={"PYTHONIOENCODING": "utf-8:strict"})
    assert results["score"] == 0
    assert completed.stderr == "", completed.stderr[-2000:]
    assert not FAKE_PASS.search(completed.stdout), completed.stdout[:2000]
    scores = [line for line in completed.stdout.splitlines() if line.startswith("Score:")]
    assert scores == [f"Score: 0/{max_score()}"] and "\x1b" not in completed.stdout, scores
    text = json.dumps(results, ensure_ascii=False)
    assert "\x1b" not in text and "\\udc80" not in json.dumps(results).replace("\\\\udc80", "")
