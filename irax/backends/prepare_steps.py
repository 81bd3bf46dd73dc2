"""A backend's prepare step (IreeBackend's `prepare`: its own choices made
on irax's module before IREE compiles it) as steps on one parse of the module.

`run(text, steps)` parses the text once, runs on the module each step whose
text filter says the text may hold work for it, and prints the module once,
only if a step changed it (else the text itself comes back). The parse is in
the thread's MLIR context (mlir.context()), where irax traced the module:
a new context costs 10-30 ms to make on this 2-core machine, more than
parsing a training step's module (1-5 ms), and the attributes and types of
a module traced here are known to it already.

`version(function)` names the code of a prepare step, for the compile
cache's key: the programs are kept under the text before the prepare step
(so that a hit prepares nothing), which then must say which prepare step
makes the text IREE gets. It is a hash of the sources of the function's
module and of every irax module it imports, transitively: any edit to the
code a step runs (a helper of irax/ir included) makes new keys, where a
version number bumped by hand would be forgotten once, and a cache would
then hand out programs of the old code with no sign of it. An edit costs
one run of the step per program, once, and a compile only for the programs
whose prepared text it changes (cache.py: a miss looks up the prepared text).
"""
import functools
import hashlib
import os
import re
import sys
from typing import Callable, NamedTuple

from iree.compiler import ir

from irax.ir import mlir


class Step(NamedTuple):
    """One step of a prepare step. `may_apply(text)`: whether the module's
    text, as given to `run`, may hold work for it (cheap: when no step's does,
    nothing is parsed); a step must make nothing that a later step's filter
    looks for. `transform(module)`: the module it made, the one given changed
    in place or a new parse of it; None where it changed nothing."""
    may_apply: Callable[[str], bool]
    transform: Callable[[ir.Module], "ir.Module | None"]


def run(mlir_text: str, steps) -> str:
    """`mlir_text` after the `steps` (in order) whose filters accept it:
    parsed once, printed once; the text itself where none changed it."""
    steps = [step for step in steps if step.may_apply(mlir_text)]
    if not steps:
        return mlir_text
    with mlir.context():
        module, changed = ir.Module.parse(mlir_text), False
        for step in steps:
            made = step.transform(module)
            if made is not None:
                module, changed = made, True
        return str(module) if changed else mlir_text


_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # where `irax/` is
_FROM_IMPORT = re.compile(r"^\s*from\s+(irax[\w.]*)\s+import\s+(?:\(([^)]*)\)|([\w ,]+))", re.M)
_IMPORT = re.compile(r"^\s*import\s+(irax[\w.]*)", re.M)


def version(function) -> str:
    """A hash of the sources of `function`'s module and of the irax modules
    it imports, transitively (the module docstring says why)."""
    return _sources_hash(function.__module__)


@functools.cache
def _sources_hash(module_name: str) -> str:
    digest = hashlib.sha256()
    for name, source in sorted(_imported_sources(module_name).items()):
        digest.update(name.encode() + b"\0" + source + b"\0")
    return digest.hexdigest()


def _imported_sources(module_name: str) -> dict:
    """{name: source} of the module and of the irax modules it imports, transitively."""
    sources, todo = {}, [module_name]
    while todo:
        name = todo.pop()
        if name not in sources:
            sources[name] = _source(name)
            todo.extend(_imports(sources[name].decode(errors="replace")))
    return sources


def _imports(source: str) -> list:
    """The irax modules a module's source imports (at any indentation: a
    function's import counts too). `from package import name` imports the
    module package.name where there is one, else the package."""
    found = [m[1] for m in _IMPORT.finditer(source)]
    for m in _FROM_IMPORT.finditer(source):
        names = [n.split()[0] for n in (m[2] or m[3]).replace("\n", " ").split(",") if n.split()]
        submodules = [f"{m[1]}.{n}" for n in names if _file(f"{m[1]}.{n}") is not None]
        found += submodules if len(submodules) == len(names) else submodules + [m[1]]
    return found


def _file(module_name: str) -> str | None:
    path = os.path.join(_ROOT, *module_name.split("."))
    return next((p for p in (path + ".py", os.path.join(path, "__init__.py")) if os.path.isfile(p)), None)


def _source(module_name: str) -> bytes:
    """The module's source; where there is none (an install without
    sources), the file it was loaded from."""
    path = _file(module_name) or getattr(sys.modules.get(module_name), "__file__", None)
    if path is None:
        return b""
    with open(path, "rb") as f:
        return f.read()
