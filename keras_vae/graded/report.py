"""What a grading tells its readers: the rubric table, and Gradescope's `results.json`."""

import os
import re
import sys

from keras_vae import atomic
from keras_vae.graded import rubric

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
MAX_FINDINGS = 50
# Characters a terminal or a page would act on rather than show: C0 and C1 controls but the
# newline and the tab, bidirectional overrides, and lone surrogates (which no UTF-8 stream takes).
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                         "\u2066-\u2069\ud800-\udfff]")


def plain(text):
    """`text` with every character a terminal would act on written as an escape (`\\x1b`,
    `\\udc80`), so what the submission says is shown, never obeyed."""
    return UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape",
                                                               "backslashreplace").decode(),
                           str(text))


def capped(findings, limit=MAX_FINDINGS):
    """The first `limit` findings, plain, and a line counting the rest."""
    shown = [plain(finding)[:300] for finding in findings[:limit]]
    if len(findings) > limit:
        shown.append(f"... and {len(findings) - limit} more findings")
    return shown


def format_rubric(rows):
    """Formats rubric rows (`id`, `points`, `status`, `title`, `message`) as a table."""
    lines = [f"{'id':<32} {'points':>7}  verdict"]
    for row in rows:
        earned = row["points"] if row["status"] == "passed" else 0
        mark = {"passed": "PASS", "failed": "FAIL"}.get(row["status"], "NOT RUN")
        lines.append(f"{row['id']:<32} {earned:>3}/{row['points']:<3}  {mark} "
                     f"{plain(row['title'])}")
        if row["status"] != "passed" and row["message"]:
            lines.extend("      " + line for line in plain(row["message"]).splitlines()[:6])
    score = sum(r["points"] for r in rows if r["status"] == "passed")
    lines.append(f"Score: {score}/{sum(r['points'] for r in rows)}")
    return "\n".join(lines)


def print_text(text):
    """Prints `text`, with escapes for what standard output cannot encode (a strict ASCII
    terminal), never failing on it."""
    try:
        print(text, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        sys.stdout.buffer.write(text.encode(encoding, "backslashreplace") + b"\n")
        sys.stdout.flush()


def _truncate(text, limit):
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters cut]"


def gradescope_results(rows, execution_time, output, report, visibility=None):
    """Builds Gradescope's autograder `results.json` content.

    `report["findings"]` (from `code_review.scan`) and the submission's output go into a test
    visible to instructors only (`"visibility": "hidden"`, 0 points), and the findings into
    `extra_data["flags"]`, the key instructors' scripts read; students never see them.
    """
    visibility = visibility or {}
    tests = [{
        "score": float(row["points"] if row["status"] == "passed" else 0),
        "max_score": float(row["points"]),
        "status": "passed" if row["status"] == "passed" else "failed",
        "name": plain(row["title"]),
        "number": row["id"],
        "output": _truncate(plain(row["message"] or "Passed."), 2000),
        "visibility": visibility.get(row["id"], "visible"),
    } for row in rows]
    findings = capped(list(report.get("findings", [])))
    review = ["Code that reaches for the grader (listed for a person to look at; it changes no "
              "score):"] + [f"  {finding}" for finding in findings] if findings else [
              "No code that reaches for the grader was found."]
    review += ["", f"Graded inputs: {report.get('seed')} seed. Containment: "
               f"{report.get('containment')}.", "", "End of the submission's output:",
               plain(str(report.get("output_tail", ""))[-4000:])]
    tests.append({"score": 0.0, "max_score": 0.0, "status": "failed" if findings else "passed",
                  "name": "Instructor review: flagged code and the submission's output",
                  "number": "instructor.review", "output": _truncate("\n".join(review), 8000),
                  "visibility": "hidden"})
    return {
        "score": float(sum(test["score"] for test in tests)),
        "execution_time": float(round(execution_time, 3)),
        "output": _truncate(plain(output), 20000),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"flags": findings, "seed": report.get("seed"),
                       "containment": report.get("containment")},
        "tests": tests,
    }


def not_graded(message, seconds=0.0, report=None, visibility=None):
    """`(rows, results)` of a submission that was not graded: every item at 0, with "not graded:
    `message`" as its reason. `report` overrides the instructor's notes (seed, containment,
    output)."""
    rows = list(rubric.rows(rubric.rubric(), "failed", f"not graded: {message}").values())
    notes = {"seed": "not used", "findings": [], "containment": "nothing was run",
             **(report or {})}
    return rows, gradescope_results(rows, seconds, format_rubric(rows), notes, visibility)


def write_results(path, results):
    """Writes a results.json's `results` to `path` atomically, making its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic.write_json(path, results)
