"""Lists code in a submission that reaches for the grader, for an instructor to review.

The scan reads the source (it never runs it) and finds: imports of the grading package, of
pytest or of process, signal and introspection modules; `sys.argv`, `sys.modules` and frame
access; `/proc` and the grader's paths; `atexit`, `os._exit`, process spawning and signals;
`exec`, `eval` and `__import__`; and files opened for writing. A finding changes no score: it
points a person at lines worth reading. The stubs' own imports (`keras`, `keras.ops`) and the
usual scientific imports are never listed. Results files keep the findings under
`extra_data.flags`, the name instructors' scripts read.
"""

import ast
import re

from keras_vae.graded import safefiles

MODULES = {
    "keras_vae.graded": "imports the grading package", "keras_vae.grade": "imports the grader",
    "keras_vae.reference": "imports the reference solution",
    "keras_vae.instructor": "imports the instructor's answers",
    "pytest": "imports pytest", "_pytest": "imports pytest internals",
    "subprocess": "can start processes", "multiprocessing": "can start processes",
    "signal": "handles signals", "atexit": "runs code at exit", "ctypes": "calls C directly",
    "gc": "inspects live objects", "inspect": "inspects frames", "threading": "starts threads",
    "shutil": "copies or deletes files", "socket": "opens network connections",
    "builtins": "patches built-ins", "importlib": "imports dynamically",
}
ATTRIBUTES = {
    ("sys", "argv"): "reads the command line", ("sys", "modules"): "reaches other modules",
    ("sys", "_getframe"): "inspects frames", ("sys", "exit"): "exits the process",
    ("os", "_exit"): "ends the process at once", ("os", "fork"): "forks the process",
    ("os", "kill"): "sends signals", ("os", "killpg"): "sends signals",
    ("os", "setsid"): "detaches from the grader", ("os", "system"): "runs shell commands",
    ("os", "popen"): "runs shell commands", ("os", "write"): "writes to file descriptors",
    ("os", "remove"): "deletes files", ("os", "unlink"): "deletes files",
    ("os", "environ"): "reads the environment", ("os", "getppid"): "looks for the grader",
}
CALLS = {"exec": "runs generated code", "eval": "runs generated code",
         "__import__": "imports dynamically", "exit": "exits the process",
         "quit": "exits the process", "compile": "compiles generated code",
         "globals": "patches module globals", "setattr": "patches attributes"}
STRINGS = ("/proc", "/autograder", "results.json", "grade-log", "keras_vae.graded")


def _module_finding(name):
    for module, why in MODULES.items():
        if name == module or name.startswith(module + "."):
            return why
    if name.startswith("os.") and name.split(".")[1] in {"exec", "spawn"}:
        return "can start processes"
    return None


def _writes(call):
    mode = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(
        c in mode.value for c in "wax+")


def _findings_in(tree):
    for node in ast.walk(tree):
        why = None
        if isinstance(node, ast.Import):
            why = next(filter(None, (_module_finding(alias.name) for alias in node.names)), None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            why = _module_finding(node.module) or next(filter(None, (
                _module_finding(f"{node.module}.{alias.name}") for alias in node.names)), None)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            why = ATTRIBUTES.get((node.value.id, node.attr))
            if node.value.id == "os" and node.attr.startswith(("exec", "spawn", "posix_spawn")):
                why = "can start processes"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            why = CALLS.get(node.func.id)
            if node.func.id == "open" and _writes(node):
                why = "opens a file for writing"
        elif isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in ("SystemExit", "KeyboardInterrupt"):
                why = f"raises {target.id}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(text in node.value for text in STRINGS):
                why = "names the grader's files or /proc"
        if why:
            yield node.lineno, why


MAX_SCANNED_BYTES = 2 * 2**20
CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


def read(paths):
    """The submission's source files as bytes, read before any of its code runs."""
    files = {}
    for path in paths:
        try:
            files[path] = safefiles.read_regular(path, MAX_SCANNED_BYTES)
        except OSError as error:
            files[path] = error
    return files


def scan(files):
    """Flags in the submission's `files` (`{path: bytes}`): `"path:line: why"` lines, in file
    and line order. Never raises: a file that cannot be scanned is itself a finding."""
    findings = []
    for path, data in files.items():
        if not isinstance(data, bytes):
            findings.append(f"{path}: could not be read ({type(data).__name__})")
            continue
        if len(data) > MAX_SCANNED_BYTES:
            findings.append(f"{path}: more than {MAX_SCANNED_BYTES // 2**20} MB, not scanned")
            continue
        declared = CODING.search(b"\n".join(data.splitlines()[:2]))
        if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            findings.append(f"{path}:1: declares the source encoding "
                         f"{declared.group(1).decode(errors='replace')!r}, which can hide code")
        try:
            # The bytes, not a decoded text: Python reads a coding declaration, and so must this.
            tree = ast.parse(data, filename=path)
            found = sorted(set(_findings_in(tree)))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            findings.append(f"{path}: could not be read as Python ({type(error).__name__})")
            continue
        findings.extend(f"{path}:{line}: {why}" for line, why in found)
    return findings
