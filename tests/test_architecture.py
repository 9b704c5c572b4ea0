"""The tree is the architecture: each module's part follows from its path, and imports run one
way, deferred imports included (docs/architecture.md)."""

import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = {"keras_vae", "keras_vae.checks", "keras_vae.cli", "keras_vae.atomic", "keras_vae.impl",
          "keras_vae.precision"}
LIBRARY = {"keras_vae.data", "keras_vae.datafiles", "keras_vae.likelihood", "keras_vae.plots"}
COMMANDS = {"keras_vae.train", "keras_vae.evaluate", "keras_vae.sample", "keras_vae.grade",
            "keras_vae.release", "keras_vae.classroom", "keras_vae.autograder"}
MAY_IMPORT = {"shared": {"shared"}, "reference": {"shared", "reference"}, "library": {"shared", "library"},
              "training": {"shared", "library", "training"},
              "grading": {"shared", "library", "grading"},
              "command": {"shared", "reference", "library", "training", "grading", "command"}}


def part(module):
    if module in SHARED:
        return "shared"
    if module in LIBRARY:
        return "library"
    if module in COMMANDS:
        return "command"
    for prefix, name in (("keras_vae.reference", "reference"), ("keras_vae.training", "training"),
                         ("keras_vae.graded", "grading")):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def modules():
    found = {}
    for path in glob.glob(os.path.join(ROOT, "keras_vae", "**", "*.py"), recursive=True):
        name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
        found[name] = path
    return found


def imports(path, known):
    """The package's modules that `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def test_every_module_belongs_to_a_part():
    """Every module of the package is shared, reference, library, training, grading or a command."""
    unplaced = sorted(name for name in modules() if part(name) is None)
    assert not unplaced, f"expected every module in a part, received unplaced {unplaced}"


def test_imports_run_one_way():
    """Reference -> shared; library -> shared; training -> library; grading -> library and
    shared, never training or a command; commands -> anything."""
    known = modules()
    breaches = []
    for name, path in sorted(known.items()):
        for target in sorted(imports(path, known)):
            if target != name and part(target) not in MAY_IMPORT[part(name)]:
                breaches.append(f"{name} ({part(name)}) imports {target} ({part(target)})")
    assert not breaches, "expected imports to run one way, received:\n" + "\n".join(breaches)


def test_no_import_circles():
    """No module reaches itself through the package's imports (packages' own __init__ aside)."""
    known = modules()
    graph = {name: {t for t in imports(path, known) if t != name and not name.startswith(t + ".")}
             for name, path in known.items()}
    circles = []

    def visit(name, trail):
        for target in graph[name]:
            if target in trail:
                circles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in done:
                visit(target, trail + [target])
        done.add(name)

    done = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert not circles, "expected no import circles, received:\n" + "\n".join(sorted(set(circles)))


# Modules named by a string rather than imported, where the rule does not apply, and why.
NAMED_BY_STRING = {
    ("keras_vae", "keras_vae.reference.layers"): "the package's contract names are the "
    "reference's, loaded on first use",
    ("keras_vae", "keras_vae.reference.losses"): "the same",
    ("keras_vae", "keras_vae.reference.models"): "the same, and registered once Keras loads",
    ("keras_vae.graded.code_review", "keras_vae.grade"): "a name it looks for in a submission",
    ("keras_vae.graded.code_review", "keras_vae.reference"): "the same",
    ("keras_vae.graded.gradebook", "keras_vae.grade"): "runs the grading command, a process per "
    "submission, never imports it",
}


def test_modules_named_by_string_follow_the_rule_but_for_the_listed_exceptions():
    """`importlib.import_module("keras_vae.x")`, `python -m keras_vae.x` and the like: a string
    that names one of the package's modules counts as an import, unless listed above."""
    known = modules()
    breaches, listed = [], set()
    for name, path in sorted(known.items()):
        tree = ast.parse(open(path, encoding="utf-8").read())
        named = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                 and isinstance(node.value, str) and node.value in known and node.value != name}
        for target in sorted(named):
            if part(target) in MAY_IMPORT[part(name)]:
                continue
            if (name, target) in NAMED_BY_STRING:
                listed.add((name, target))
            else:
                breaches.append(f"{name} ({part(name)}) names {target} ({part(target)})")
    assert not breaches, "expected modules named by string to follow the rule:\n" + "\n".join(
        breaches)
    assert listed == set(NAMED_BY_STRING), (
        f"expected every listed exception to be needed, received unused "
        f"{sorted(set(NAMED_BY_STRING) - listed)}")
