"""What a class grading grades, with which seed and as whom, checked before anyone is graded.

A class grading is the grade that counts only with the release's secret seed and with the
submissions run as other users (docs/gradescope.md, "Grading a class"). `plan` refuses, before
anyone is graded, a folder without submissions and a grading whose submissions would run as the
grader's own user without `--sandbox-user none`; `announce` says which seed and which user, and
when the scores are feedback.
"""

import dataclasses
import os
import pwd

from keras_vae import checks
from keras_vae.graded import sandbox

FIX_HINT = ("Grade as root, from a virtual environment every user can run (made from a Python "
            "outside a private home: /usr/bin/python3 -m venv /opt/keras-vae), or pass "
            "--sandbox-user none to grade as your own user, for feedback only")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a class grading grades, with which seed and as whom (see `plan`)."""

    entries: list
    seed: int
    seed_kind: str
    seed_source: str
    user: str
    contained: bool


def entries(folder):
    """`[(name, path)]` of the submissions in `folder`, by name."""
    names = sorted(os.listdir(folder))
    return [(name[:-4] if name.endswith(".zip") else name, os.path.join(folder, name))
            for name in names if not name.startswith(".")
            and (os.path.isdir(os.path.join(folder, name)) or name.endswith(".zip"))]


def plan(folder, students, seed, seed_kind, seed_source, sandbox_user):
    """Checks a class grading before anyone is graded; returns its `Plan`.

    Raises:
        ValueError: naming the flag, for a folder without submissions, a `--student` not in it,
            the secret seed without a sandbox user, or a sandbox user that cannot run the
            grader's Python (submissions would run as the grader's own user: root, often).
    """
    found = entries(folder)
    if not found:
        raise checks.invalid("--submissions", "a folder of submissions (folders or .zip files)",
                             folder, "which holds none")
    names = [name for name, _ in found]
    for student in students or ():
        if student not in names:
            raise checks.invalid("--student", f"the name of a submission in {folder}", student)
    if students:
        found = [(name, path) for name, path in found if name in students]
    if seed_kind == "secret" and sandbox_user in (None, "", "none"):
        raise checks.invalid("--sandbox-user", "a user to run submissions as, with the secret "
                             "seed (a submission run as your own user could read it)",
                             sandbox_user)
    user, containment = sandbox.sandbox_user_or_note(sandbox_user, "secret")
    if user is None and sandbox_user not in (None, "", "none"):
        raise checks.invalid("--sandbox-user", "a user that can run the grader's Python, so that "
                             "no submission runs as the grader's own user", sandbox_user,
                             f"which is refused: {containment}. {FIX_HINT}")
    if user is None:
        label = f"{pwd.getpwuid(os.geteuid()).pw_name} (own user)"
    elif user == sandbox.DEFAULT_USER:
        label = "fresh user ids, one for each stage"
    else:
        label = f"user {getattr(user, 'name', user)!r}"
    return Plan(found, seed, seed_kind, seed_source, label, user is not None)


def announce(plan):
    """The lines a class grading prints before it starts: how many, which seed, which user, and
    whether these scores are the grade that counts."""
    lines = [f"Grading {len(plan.entries)} submission{'s' * (len(plan.entries) != 1)} with the "
             f"{plan.seed_kind} seed ({plan.seed_source}), run as {plan.user}."]
    if plan.seed_kind == "public":
        lines.append("Not the grade that counts: these are the public seed's inputs, the ones "
                     "students grade themselves on. For the grade that counts, pass --seed-file "
                     "RELEASE/grading_seed (written by python -m keras_vae.release).")
    elif plan.seed_kind == "given":
        lines.append("Not the release's secret seed: for the grade that counts, pass --seed-file "
                     "RELEASE/grading_seed (written by python -m keras_vae.release).")
    if not plan.contained:
        lines.append("Not the grade that counts: submissions run as your own user, so one could "
                     "change your files or another's results.")
    return lines
