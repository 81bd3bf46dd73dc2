"""The package's layers, read off the source (no import runs):

    irax/ir          the floor: imports nothing of irax
    irax/transforms  passes: the floor, and the plugin protocol and registry
                     (pass discovery) and the settings (IRAX_PASSES)
    irax/backends    compile and run: the floor (a target's own rewrites of
                     the module read MLIR too), never the frontend or the passes
    irax/plugins     the protocol and registry the backends implement

and no import of irax sits inside a function body, where it would hide a
cycle between modules, unless ALLOWED names it and says why.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "irax"

# layer -> the irax modules it may import (itself always); a name covers its submodules.
MAY_IMPORT = {
    "irax.ir": (),
    "irax.transforms": ("irax.ir", "irax.plugins", "irax.config"),
    "irax.backends": ("irax.ir", "irax.config", "irax.plugins"),
    "irax.plugins": ("irax.config",),
    "irax.config": (),
}

# (importing module, imported module) -> why the import waits for a call.
ALLOWED = {
    ("irax.frontend.numpy.indexing", "irax.frontend.control_flow"):
        "x.at[i].apply(f) under a trace is a while_loop (as many steps as an index repeats), and control_flow "
        "imports irax.frontend.numpy, which imports indexing",
    ("irax.frontend.custom_derivatives", "irax.frontend.tape"):
        "a custom_jvp function that branches on values runs on values (tape.staged_or_on_values, its rule as "
        "tape.straight_line), and tape imports irax.numpy, whose linear algebra uses custom_vjp",
    ("irax.frontend.vmap", "irax.frontend.tape"):
        "an unmapped Python number the function needs the value of is a static number on a second try "
        "(tape.staged_or_on_values), and tape imports irax.numpy, whose frontend package imports vmap",
    ("irax.frontend.numpy.math_extra", "irax.frontend.custom_derivatives"):
        "logaddexp's derivative is JAX's rule (a custom_jvp, made at the first call), and custom_derivatives "
        "imports control_flow, which imports the irax.frontend.numpy package that math_extra is part of",
    ("irax.frontend.lax_elementwise", "irax.frontend.custom_derivatives"):
        "reduce_precision's derivative is JAX's rule (a custom_vjp_and_jvp per format, made at the first call), "
        "and custom_derivatives imports staging, which imports the irax.frontend.numpy package, whose "
        "control_flow imports lax_elementwise",
    ("irax.frontend.numpy.math_extra", "irax.frontend.special"):
        "i0's derivative is JAX's rule in i0e and i1e (a custom_jvp, made at the first call), and special "
        "imports irax.frontend.numpy.util, whose package imports math_extra",
    ("irax.frontend.numpy.reductions", "irax.frontend.custom_derivatives"):
        "cumprod's derivative is JAX's rule (a custom_jvp, made at the first call), and custom_derivatives "
        "imports control_flow, which imports the irax.frontend.numpy package that reductions is part of",
    ("irax.frontend.numpy.linalg", "irax.frontend.lax_structural"):
        "a contraction given a preferred_element_type takes lax.dot_general's rule (which dtype to sum in, and "
        "the conversion after, as XLA), and lax_structural imports the irax.frontend.numpy package of linalg",
    ("irax.frontend.numpy.reductions", "irax.frontend.lax_scans"):
        "cumprod's JVP is that of an associative_scan of multiplies, and lax_scans imports irax.numpy, whose "
        "package imports reductions",
    ("irax.frontend.numpy.ufuncs", "irax.frontend.custom_derivatives"):
        "x ** n for n < -1 differentiates by JAX's integer_pow rule (a custom_jvp, made at the first call), and "
        "custom_derivatives imports control_flow, which imports the irax.frontend.numpy package of ufuncs",
    ("irax.frontend.numpy.ufunc_objects", "irax.frontend.control_flow"):
        "a ufunc's derived reduce/accumulate/at/reduceat are loops (fori_loop, scan), and control_flow imports "
        "the irax.frontend.numpy package, which imports ufunc_objects for jnp.add and the other ufuncs",
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path):
    """(imported irax module, line, inside a function body) for each import in
    `path`. `from a import b` imports a.b when that is a module, else a."""
    tree = ast.parse(path.read_text(), str(path))
    in_function = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for node in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                     for a in node.names]
        else:
            assert not isinstance(node, ast.ImportFrom), f"{path}:{node.lineno}: relative import"
            continue
        for name in names:
            if name == "irax" or name.startswith("irax."):
                yield name, node.lineno, id(node) in in_function


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


IMPORTS = {module: list(_imports(path)) for module, path in MODULES.items()}


def test_sees_the_package():
    # the walk finds the layers and their imports: an empty walk passes every rule
    assert {"irax.ir.mlir", "irax.transforms.pipeline", "irax.backends.runtime"} <= set(MODULES)
    assert "irax.ir.mlir" in [name for name, _, _ in IMPORTS["irax.transforms.cleanup"]]


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_layer_imports_only_what_it_may(layer):
    allowed = (layer, *MAY_IMPORT[layer])
    wrong = [f"{module}:{line} imports {name}"
             for module, imports in IMPORTS.items() if _within(module, layer)
             for name, line, _ in imports if not any(_within(name, a) for a in allowed)]
    assert not wrong, f"{layer} may import only {', '.join(allowed)}:\n" + "\n".join(wrong)


def test_no_function_body_imports_beyond_the_allowed():
    found = {(module, name): line for module, imports in IMPORTS.items()
             for name, line, in_function in imports if in_function}
    unexplained = [f"{module}:{line} imports {name}" for (module, name), line in found.items()
                   if (module, name) not in ALLOWED]
    assert not unexplained, "imports inside functions hide cycles; move them up:\n" + "\n".join(unexplained)
    stale = set(ALLOWED) - set(found)
    assert not stale, f"ALLOWED names imports that are gone: {sorted(stale)}"
