"""Code that reaches for the grader is listed for the instructor; honest code is not."""

import glob
import os

import pytest

from keras_vae.graded import code_review

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("path", ["assignments/__init__.py", "tests/solutions/alternative.py",
                                  "tests/solutions/subclassed.py"])
def test_honest_code_is_not_flagged(path):
    """The stubs and the correct solutions raise no flag."""
    assert code_review.scan(code_review.read([os.path.join(ROOT, path)])) == []


ADVERSARIES = sorted(os.path.basename(p)[:-3] for p in glob.glob(
    os.path.join(ROOT, "tests", "adversarial", "[a-z]*.py")))
# Adversaries that never reach for the grader: they are stopped by limits and judges instead.
NOT_REACHING = {"allocates_all_memory": "only allocates", "prints_without_limit": "only prints",
                "sleeps_forever": "only sleeps", "stalls_every_export": "only sleeps",
                "forges_the_table": "only raises an exception with escapes in its message",
                "structural_decoys": "only builds graphs of invented numbers"}


@pytest.mark.parametrize("name", ADVERSARIES)
def test_every_adversary_that_reaches_for_the_grader_is_flagged(name):
    """Adversaries that touch the grader, its files, /proc, live objects, exits, processes or
    hidden encodings are flagged; the ones that only use resources or build graphs are not."""
    found = code_review.scan(code_review.read([os.path.join(ROOT, "tests", "adversarial", f"{name}.py")]))
    if name in NOT_REACHING:
        assert found == [], f"{name} ({NOT_REACHING[name]}): expected no flag, received {found}"
    else:
        assert found, f"{name}: expected findings for code reaching for the grader, received none"


def test_findings_name_the_line_and_the_reason(tmp_path):
    """A flag reads 'path:line: reason' for imports, attributes, calls, strings and writes."""
    source = tmp_path / "submission.py"
    source.write_text("import keras\nimport _pytest.python\nimport sys\nx = sys.argv\n"
                      "open('/proc/1/cmdline')\nopen('out.txt', 'w')\nraise SystemExit(0)\n")
    found = code_review.scan(code_review.read([str(source)]))
    assert found == [f"{source}:2: imports pytest internals", f"{source}:4: reads the command line",
                     f"{source}:5: names the grader's files or /proc",
                     f"{source}:6: opens a file for writing", f"{source}:7: raises SystemExit"]


def test_unparsable_code_is_reported_not_raised(tmp_path):
    """A file that is not Python is reported as a flag; the scan does not fail."""
    source = tmp_path / "broken.py"
    source.write_text("def (:\n")
    assert code_review.scan(code_review.read([str(source)])) == [
        f"{source}: could not be read as Python (SyntaxError)"]


@pytest.mark.parametrize("text, error", [
    ("x = " + " + ".join(["1"] * 5000) + "\n", None),
    ("x = " + "(" * 200 + "1" + ")" * 200 + "\n", "SyntaxError"),
    ("x = " + "[" * 100000 + "\n", "SyntaxError"),
])
def test_deep_or_huge_expressions_never_raise(tmp_path, text, error):
    """A 5,000-term expression, deep nesting and unclosed brackets are scanned or reported."""
    source = tmp_path / "deep.py"
    source.write_text(text)
    found = code_review.scan(code_review.read([str(source)]))
    assert all(isinstance(flag, str) for flag in found), found
    if error is None:
        assert not found or "could not be read" in found[0], found


def test_binary_and_oversized_files_are_reported(tmp_path):
    """Bytes that are not UTF-8 are scanned without failing; megabytes are reported unscanned."""
    binary, big = tmp_path / "binary.py", tmp_path / "big.py"
    binary.write_bytes(b"\xff\xfe\x00import os\n")
    big.write_text("x = 1\n" * (code_review.MAX_SCANNED_BYTES // 6 + 10))
    found = code_review.scan(code_review.read([str(binary), str(big)]))
    assert any(str(binary) in flag for flag in found), found
    assert f"{big}: more than 2 MB, not scanned" in found, found


def test_code_hidden_by_a_coding_declaration_is_flagged(tmp_path):
    """A `# coding: utf-7` file is read as Python reads it: its hidden code and the declaration
    are both flagged."""
    source = tmp_path / "hidden.py"
    source.write_bytes(b"# coding: utf-7\n# +AAo-import gc+AAo-\nx = 1\n")
    found = code_review.scan(code_review.read([str(source)]))
    assert f"{source}:1: declares the source encoding 'utf-7', which can hide code" in found, found
    assert any("inspects live objects" in flag for flag in found), found
