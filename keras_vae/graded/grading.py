"""One grading: export the submission's graphs, run them, judge them.

The grading process never imports the submission nor TensorFlow. Two sandboxed children do
the work: the exporter (`exporter.py`) imports the submission and, told only each export's
configuration, writes its graphs; once it and everything it started are gone, the runner
(`runner.py`), which never imports submission code, checks the graphs against the allow-list,
runs them on the graded inputs and reports observations, which this process judges. A child
that hangs, crashes or runs out of memory costs only the export or item it was running; every
item that did not finish scores 0 with the reason, so the maximum never changes.
"""

import os
import shutil
import tempfile
import threading
import time

import numpy.ma  # noqa: F401  (np.median loads it on first use, after submissions ran)

from keras_vae.graded import (channel, children, code_review, feedback, identities, namespaces,
                              processes, rubric, safefiles, sandbox, verdict)
from keras_vae.impl import default_impl_name, locate

SEED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading_seed")
# The deadline leaves Gradescope's smallest documented timeout (10 minutes) start-up to spare.
DEFAULTS = {"timeout": 60.0, "deadline": 480.0, "memory_limit": 2048}


def grading_seed():
    """The autograder's secret seed where its zip installed one, else the public seed."""
    try:
        with open(SEED_FILE) as file:
            return int(file.read().strip()), "secret"
    except (OSError, ValueError):
        return rubric.PUBLIC_SEED, "public"


def _fail_pending(rows, item_ids, message):
    for item_id in item_ids:
        if rows[item_id]["status"] == "not run":
            rows[item_id].update(status="failed", message=message)


class Grading:
    """The rubric's rows for one submission, filled in by its children: the exporter, then
    the runners."""

    def __init__(self, impl_name, paths, seed, limits, user=None):
        self.impl_name, self.paths, self.seed = impl_name, paths, seed
        self.limits, self.user = limits, user  # the stage's `sandbox.Identity`, or None
        self.items = {item.id: item for item in rubric.rubric()}
        self.rows = rubric.rows(self.items.values())
        makers = rubric.configs()
        self.configs = {name: makers[name](rubric.config_rng(seed, name))
                        for name in dict.fromkeys(item.export for item in self.items.values())}
        self.facts, self.forbidden = {}, []
        self.outputs = {"exporter.py": [], "runner.py": []}  # each child's output, by script
        self.import_failure = None  # (first item id, message) once the import failed
        self.package_root = None  # the folder of the package copy the children run, if any
        self.namespaces = None  # the namespaces every stage's child ran in, once one ran

    def ran(self, script, outcome):
        """Keeps a child's output and the namespaces it shared with every child before it."""
        self.outputs[script].append(outcome.output)
        got = set(outcome.namespaces)
        self.namespaces = got if self.namespaces is None else self.namespaces & got

    def using(self, export):
        return [i for i, item in self.items.items() if item.export == export]

    def _fail_import(self, message):
        """Fails every item not yet run with an import failure told once, at the first."""
        pending = [i for i in self.items if self.rows[i]["status"] == "not run"]
        if not pending:
            return
        self.import_failure = pending[0], message
        _fail_pending(self.rows, pending[:1], message)
        _fail_pending(self.rows, pending[1:], feedback.told_once(pending[0]))

    def tell_import_failure_once(self):
        """Puts back the import failure's own messages over any added since."""
        if self.import_failure is not None:
            first, message = self.import_failure
            for item_id, row in self.rows.items():
                row["message"] = message if item_id == first else feedback.told_once(first)

    def export_all(self, home, out):
        """Runs exporters until every export is written or has failed."""
        pending = list(self.configs)
        while pending and time.monotonic() < self.limits.deadline:
            jobs = [{"name": name, "config": self.configs[name],
                     "seed": rubric.export_seed(self.seed, name)} for name in pending]
            request = {"impl_name": self.impl_name, "paths": self.paths, "exports": jobs,
                       "out": out}
            outcome = children.run("exporter.py", request,
                                   pending, self.user, home, self.limits,
                                   {name: len(self.using(name)) for name in pending},
                                   self.package_root)
            self.ran("exporter.py", outcome)
            if outcome.import_error is not None:
                text = feedback.error_message(outcome.import_error)
                if text == feedback.NOT_IMPLEMENTED:
                    _fail_pending(self.rows, self.items, text)
                else:
                    self._fail_import(feedback.import_failed(text))
                return
            for name, result in outcome.results.items():
                if "error" in result:
                    _fail_pending(self.rows, self.using(name),
                                  feedback.error_message(result["error"]))
                else:
                    try:
                        facts = channel.from_data(result.get("observed"))
                    except Exception:  # noqa: BLE001  (malformed facts are no facts)
                        facts = {}
                    self.facts[name] = facts if isinstance(facts, dict) else {}
            if outcome.current is not None:
                _fail_pending(self.rows, self.using(outcome.current),
                              feedback.stopped("building", outcome.stopped))
            elif outcome.stopped and not outcome.results:
                self._fail_import(feedback.stopped("importing", outcome.stopped))
                return
            done = set(outcome.results) | {outcome.current}
            pending = [name for name in pending if name not in done]

    def run_all(self, home, out):
        """Runs runners until every item whose export was written has its verdict: a runner
        per group of `rubric.runner_batch`, one after another, and another where one stopped."""
        pending = [i for i, item in self.items.items()
                   if item.export in self.facts and self.rows[i]["status"] == "not run"]
        inputs = {i: rubric.inputs(self.items[i], self.configs[self.items[i].export], self.seed)
                  for i in pending}
        while pending and time.monotonic() < self.limits.deadline:
            batch = rubric.runner_batch(self.items, pending)
            jobs = [{"id": i, "inputs": channel.to_data(inputs[i], keep_dtype=True)}
                    for i in batch]
            outcome = children.run("runner.py", {"folder": out, "items": jobs}, batch,
                                   self.user, home, self.limits, package_root=self.package_root)
            self.ran("runner.py", outcome)
            for item_id, result in outcome.results.items():
                item = self.items[item_id]
                error = result.get("error") if isinstance(result, dict) else None
                if isinstance(error, dict) and error.get("forbidden"):
                    self.forbidden.append(f"{item_id}: its exported graph was refused "
                                          f"({feedback.core_text(error.get('message', ''))[:300]})")
                message = verdict.judge(item, channel.roundtrip(inputs[item_id], keep_dtype=True),
                                        result, self.facts[item.export])
                self.rows[item_id].update(status="passed" if message is None else "failed",
                                          message=message or "")
            if outcome.current is not None:
                _fail_pending(self.rows, [outcome.current],
                              feedback.stopped("running", outcome.stopped))
            elif outcome.stopped and not outcome.results:
                break
            done = set(outcome.results) | {outcome.current}
            pending = [i for i in pending if i not in done]


def grade(impl_name=None, timeout=None, deadline=None, memory_limit=None, seed=None,
          sandbox_user=sandbox.DEFAULT_USER, paths=None):
    """Grades the implementation `impl_name` (a module name, found in the folders `paths` or on
    `sys.path`; default: the package's); returns `(rows, report)`.

    Each row has `id`, `points`, `title`, `status` (`passed` or `failed`) and `message`.
    `report` holds what the instructor sees: the code review's findings, the seed kind,
    containment notes and the tail of the submission's output.
    """
    impl_name = impl_name or default_impl_name()
    if seed is None:
        seed, seed_kind = grading_seed()
    else:
        seed_kind = "given"
    user, containment = sandbox.sandbox_user_or_note(sandbox_user, seed_kind)
    location = locate(impl_name, paths)
    search = [location.root] if location else list(paths or [])
    files = code_review.read(location.files) if location else {}
    limits = children.Limits(timeout or DEFAULTS["timeout"],
                             time.monotonic() + (deadline or DEFAULTS["deadline"]),
                             deadline or DEFAULTS["deadline"],
                             memory_limit or DEFAULTS["memory_limit"])
    return grade_found(impl_name, search, seed, seed_kind, limits, user, containment, files)


def grade_found(impl_name, paths, seed, seed_kind, limits, user, containment, files):
    """Grades the implementation `impl_name` found in `paths`; returns `(rows, report)`.

    Args:
        seed: the seed of the graded inputs; `seed_kind` says which (`secret`, `public`,
            `given`).
        limits: `children.Limits`.
        user: `"fresh"` (each stage as a fresh user id), a `sandbox.Identity` for every stage,
            or `None` for this process's user.
        containment: the sentence for the instructor saying how the submission ran.
        files: `{path: bytes}` of the submission's source, read before any of it ran; where
            the children run as another user, these bytes are what they import.
    """
    report = {"impl": impl_name, "seed": seed_kind, "containment": containment,
              "findings": code_review.scan(files), "output_tail": ""}
    grading = Grading(impl_name, paths, seed, limits)
    if seed_kind == "secret" and user is None:
        _fail_pending(grading.rows, grading.items, feedback.not_run_as_own_user(containment))
        report["containment"] = f"{containment}; nothing was run"
        return list(grading.rows.values()), report
    if user == sandbox.DEFAULT_USER:
        group, (exporter, runner) = identities.fresh_identities(2)
    else:
        group, exporter, runner = (user.gid if user else None), user, user
    work = tempfile.mkdtemp(prefix="keras-vae-grade-")
    try:
        homes = make_folders(work, group, exporter, runner)
        if exporter is not None and os.path.realpath(paths[0] if paths else "/") != (
                os.path.realpath(sandbox.ROOT)):
            grading.paths = [_copy_submission(files, paths, os.path.join(work, "submission"),
                                              exporter)]
            grading.package_root = _copy_grader(os.path.join(work, "package"), group)
            exposed = _readable_by_all(os.path.join(sandbox.ROOT, "keras_vae", "reference"))
            if exposed:
                report["containment"] += (f"; the reference solution in {exposed} can be read "
                                          f"by every user, so a submission could read it by "
                                          f"its path (chmod o-rwx it)")
        grading.user = exporter
        grading.export_all(homes["exporter"], homes["exports"])
        if processes.end_stage(exporter):
            # The runner reads a copy made once no exporter process is left: regular files
            # only, owned by root, so nothing the submission left can change or block it.
            graphs = os.path.join(work, "graphs")
            safefiles.copy_tree(homes["exports"], graphs, *((0, runner.gid) if runner else ()),
                                deadline=limits.deadline)
            grading.user = runner
            grading.run_all(homes["runner"], graphs)
            processes.end_stage(runner)
        else:
            _fail_pending(grading.rows, grading.items, feedback.NOT_STOPPED)
    finally:
        _remove(work, max(5.0, min(30.0, limits.deadline - time.monotonic())))
    overdue = time.monotonic() >= limits.deadline
    _fail_pending(grading.rows, grading.items,
                  feedback.did_not_run(limits.deadline_seconds if overdue else None))
    feedback.explain_dependencies(grading.rows, grading.items)
    grading.tell_import_failure_once()
    if grading.namespaces is not None:
        report["containment"] += f"; each stage ran in {namespaces.describe(grading.namespaces)}"
    report["findings"] += grading.forbidden[:20]
    report["output_tail"] = output_tail(grading.outputs)
    return list(grading.rows.values()), report


def output_tail(outputs, size=4000, exporter=2500):
    """The end of what the children printed, at most `size` characters: the end of the
    exporters' output first (at least `exporter` characters of it where it has them: the
    submission's own code runs there), then the end of the runners' (their graphs' prints and
    TensorFlow's)."""
    runners = "\n".join(outputs["runner.py"])
    keep = max(exporter, size - len(runners) - bool(runners))
    first = "\n".join(outputs["exporter.py"])[-keep:]
    rest = runners[-max(0, size - len(first) - 1):] if size > len(first) + 1 else ""
    return "\n".join(part for part in (first, rest) if part)


def _remove(folder, seconds):
    """Removes `folder`, waiting at most `seconds`: a submission can leave more files than can
    be removed in time, and results.json must not wait for them (the rest goes on in the
    background while this process lives)."""
    def remove():
        try:
            shutil.rmtree(folder, ignore_errors=True)
        except BaseException:  # noqa: BLE001  (a tree deeper than the recursion limit)
            pass
    thread = threading.Thread(target=remove, daemon=True)
    thread.start()
    thread.join(seconds)


def make_folders(work, group, exporter, runner):
    """Makes the grading's folder `work` private to its `group` and, inside it, a home of its
    own for each stage and the exporter's `exports`; returns their paths by name.

    `work` is root's with mode 0710 and the grading's group (only its two users may enter,
    neither may list or change it); each home is its stage's alone (0700). Without users
    (`None`) everything is this process's, mode 0700.
    """
    if group is not None:
        os.chown(work, 0, group)
    os.chmod(work, 0o710 if group is not None else 0o700)
    homes = {name: os.path.join(work, name) for name in ("exporter", "exports", "runner")}
    for name, owner in (("exporter", exporter), ("exports", exporter), ("runner", runner)):
        os.mkdir(homes[name], 0o700)
        if owner is not None:
            os.chown(homes[name], owner.uid, owner.gid)
    return homes


# What a submission's processes never need of the package: the reference solution and the
# instructor's answers (absent from the student bundle, present in the instructor's checkout).
LEFT_OUT = ("reference", "instructor", "__pycache__", "grading_seed", "visibility.json")
GRADER_INIT = ('"""keras_vae as the processes of a grading see it: the grader and the '
               'library, without the reference solution."""\n\n'
               'DEFAULT_IMPL_NAME = "assignments"\n')


def _copy_grader(destination, group):
    """Copies the package, less `LEFT_OUT`, to `destination/keras_vae`, readable by `group`
    alone and owned by root; returns `destination`. A submission's processes run the grader
    from this copy, so the reference solution is never on their path."""
    package = os.path.join(sandbox.ROOT, "keras_vae")
    target = os.path.join(destination, "keras_vae")
    shutil.copytree(package, target, ignore=lambda folder, names: [
        name for name in names if name in LEFT_OUT and (folder == package or name in LEFT_OUT[2:])])
    with open(os.path.join(target, "__init__.py"), "w") as file:
        file.write(GRADER_INIT)
    for folder, folders, names in os.walk(destination):
        os.chown(folder, 0, group)
        os.chmod(folder, 0o750)
        for name in names:
            os.chown(os.path.join(folder, name), 0, group)
            os.chmod(os.path.join(folder, name), 0o640)
    return destination


def _readable_by_all(folder):
    """`folder` where every user may enter and read it, else `None`."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return None
    return folder if mode & 0o005 == 0o005 else None


def _copy_submission(files, paths, destination, exporter):
    """Writes the submission's source `files` (the bytes the code review read) under
    `destination`, where they sit relative to the first of `paths` holding them, readable by
    `exporter` alone and owned by root; returns `destination`."""
    root = os.path.abspath(paths[0]) if paths else "/"
    os.mkdir(destination, 0o750)
    os.chown(destination, 0, exporter.gid)
    for path, data in files.items():
        relative = os.path.relpath(os.path.abspath(path), root)
        if not isinstance(data, bytes) or relative.startswith(os.pardir):
            continue
        folder = destination
        for part in os.path.dirname(relative).split(os.sep) if os.path.dirname(relative) else []:
            folder = os.path.join(folder, part)
            if not os.path.isdir(folder):
                os.mkdir(folder, 0o750)
                os.chown(folder, 0, exporter.gid)
        safefiles.write_private(os.path.join(destination, relative), data, 0, exporter.gid)
    return destination
