"""The public API can be read: every public name is found in the source
where it is made, and every public function says what it takes and returns.

Found: a name in a public module's `__all__` is bound, in the module that
defines it, by a `def`, a `class` or an assignment to that one name
(`exp = _inexact_unary("exp")`), so `grep -rn "def exp\\|^exp ="` finds it.
The imports in between (`from m import *`, `from m import name`) are
followed through the AST: looking the name up on the imported module would
also accept names made by `globals().update` or `setattr`.
"""
import ast
import functools
import importlib.util
import inspect
import pathlib
import sys
import typing

import pytest

import irax
import irax.lax
import irax.nn
import irax.numpy
import irax.random
import irax.lax.linalg
import irax.numpy.linalg
import irax.scipy.linalg
import irax.scipy.special
import irax.tree
import irax.tree_util
from irax.example_libraries import optimizers, stax

PUBLIC = [irax, irax.debug, irax.dtypes, irax.numpy, irax.lax, irax.nn, irax.random, irax.tree, irax.tree_util, irax.scipy,
          irax.scipy.special, irax.numpy.linalg, irax.lax.linalg, irax.scipy.linalg, stax, optimizers]
IRAX_ROOT = pathlib.Path(irax.__file__).parent

# Public functions without type hints yet, each with the reason; the test
# fails once one has them, to take it off this list.
NOT_ANNOTATED = {}  # qualified name -> why it has no hints yet (an expected failure until it has)


@functools.cache
def module_ast(module_name: str) -> ast.Module:
    return ast.parse(pathlib.Path(importlib.util.find_spec(module_name).origin).read_text())


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _targets(statement) -> list:
    """The names a top-level `a = ...`, `a = b = ...` or `a: T = ...` binds;
    tuple unpacking binds none visibly (grep "int8 =" would miss it)."""
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


def binding(module_name: str, name: str) -> str | None:
    """Where `name` in module `module_name` is made: 'module:line', or None
    when nothing in the source visibly binds it."""
    for statement in module_ast(module_name).body:
        where = f"{module_name}:{statement.lineno}"
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and statement.name == name:
            return where
        if name in _targets(statement):
            return where
        if isinstance(statement, ast.ImportFrom) and statement.level == 0:
            for alias in statement.names:
                if alias.name == "*" and name in getattr(importlib.import_module(statement.module), "__all__", ()):
                    found = binding(statement.module, name)
                    if found:
                        return found
                elif (alias.asname or alias.name) == name:
                    submodule = f"{statement.module}.{alias.name}"
                    return submodule if _is_module(submodule) else binding(statement.module, alias.name)
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if (alias.asname or alias.name) == name:
                    return alias.name
    return None


def public_names(module) -> list:
    return [(module.__name__, name) for name in getattr(module, "__all__", [])]


def public_functions() -> list:
    return [(m, name) for module in PUBLIC for m, name in public_names(module)
            if inspect.isfunction(inspect.unwrap(getattr(module, name)))]


def test_every_public_module_lists_its_names():
    for module in PUBLIC:
        assert isinstance(getattr(module, "__all__", None), list) and module.__all__, f"{module.__name__} has no __all__"
        assert len(set(module.__all__)) == len(module.__all__), f"{module.__name__}.__all__ repeats a name"
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{module.__name__}.__all__ names what it lacks: {missing}"


@pytest.mark.parametrize("module_name,name", [p for m in PUBLIC for p in public_names(m)])
def test_public_name_is_bound_visibly(module_name, name):
    assert binding(module_name, name), (
        f"{module_name}.{name} is bound by no def, class or `{name} = ...` in the source: "
        "make it one (not globals().update or setattr)")


@pytest.mark.parametrize("module_name,name", public_functions())
def test_public_function_is_named_where_it_is_made(module_name, name):
    """A table-made function carries the name of the line that makes it, so a
    traceback or repr naming it leads to that line."""
    fn = inspect.unwrap(getattr(sys.modules[module_name], name))
    assert binding(fn.__module__, fn.__name__), f"{fn.__module__} binds no {fn.__name__} (the __name__ of {name})"
    assert fn.__qualname__ == fn.__name__
    assert inspect.getdoc(fn), f"{module_name}.{name} has no docstring"


def _module_writes(tree) -> list:
    """Calls that add names to a module behind grep's back: globals() or
    vars() (to update them), setattr(sys.modules[...], ...)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id in ("globals", "vars") and not node.args:
            found.append((node.lineno, f"{node.func.id}()"))
        if node.func.id == "setattr" and node.args and "sys.modules" in ast.unparse(node.args[0]):
            found.append((node.lineno, "setattr(sys.modules[...])"))
    return found


def test_no_module_makes_names_behind_greps_back():
    offenders = []
    for path in sorted(IRAX_ROOT.rglob("*.py")):
        offenders += [f"{path.relative_to(IRAX_ROOT.parent)}:{line}: {what}"
                      for line, what in _module_writes(ast.parse(path.read_text()))]
    assert not offenders


def test_the_checks_catch_what_they_are_for():
    """The AST checks reject a table exported through globals() and a
    tuple-unpacked name, and accept one visible line per name."""
    exported = ast.parse("_TABLE = {'exp': 1}\nglobals().update(_TABLE)\n")
    assert _module_writes(exported) == [(2, "globals()")]
    assert _targets(ast.parse("int8, int16 = 1, 2").body[0]) == []
    assert _targets(ast.parse("bitwise_not = invert = f('invert')").body[0]) == ["bitwise_not", "invert"]
    assert binding("irax.numpy", "exp") == binding("irax.frontend.numpy.ufuncs", "exp")
    assert binding("irax.numpy", "no_such_name") is None


def _unannotated(fn) -> list:
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


@pytest.mark.parametrize("module_name,name", [
    pytest.param(m, n, marks=pytest.mark.xfail(strict=True, reason=NOT_ANNOTATED[f"{m}.{n}"]))
    if f"{m}.{n}" in NOT_ANNOTATED else (m, n) for m, n in public_functions()
])
def test_public_function_has_type_hints(module_name, name):
    fn = getattr(sys.modules[module_name], name)
    assert not _unannotated(fn), f"{module_name}.{name} has no type hint for {_unannotated(fn)}"
    typing.get_type_hints(inspect.unwrap(fn))  # every hint names something that exists


def test_type_hint_vocabulary():
    import numpy as np

    from irax.typing import ArrayLike, Axis, DTypeLike

    assert typing.get_type_hints(irax.numpy.sum)["axis"] == Axis
    assert typing.get_type_hints(irax.numpy.exp)["x"] == ArrayLike
    assert typing.get_type_hints(irax.numpy.zeros)["dtype"] == DTypeLike | None
    assert np.ndarray in typing.get_args(ArrayLike) and irax.Array in typing.get_args(ArrayLike)
