"""The pass pipeline every staged program goes through before IREE.

Python passes (`fn(module_op) -> None`) and upstream MLIR passes run in one
`PassManager`, so `IRAX_PRINT_IR_AFTER_ALL=1`-style per-pass dumps come from
MLIR itself. The pass manager is built per run and dropped: one kept alive
at interpreter exit makes nanobind print leak warnings.
"""
from iree.compiler import ir
from iree.compiler.passmanager import PassManager

from irax.transforms.buffer_reuse import protect_arguments
from irax.transforms.cleanup import prune_unused_generic_inputs

# inline: calls of custom-derivative functions (frontend/custom_derivatives.py)
CLEANUP = "inline,symbol-dce,canonicalize,cse"


def run(module, python_passes=(), donated=()):
    """Run `python_passes` (callables on the module op), then the cleanup, then
    protect the arguments (all but the `donated` argument positions)."""
    with module.context, ir.Location.unknown():
        pm = PassManager("builtin.module")
        for p in python_passes:
            pm.add(lambda op, pass_, p=p: p(op), name=getattr(p, "__name__", None))
        pm.add(CLEANUP)
        pm.add(lambda op, pass_: prune_unused_generic_inputs(op), name="prune-unused-generic-inputs")
        pm.add("canonicalize,cse")
        pm.add(lambda op, pass_: protect_arguments(op, donated), name="protect-arguments")
        pm.run(module.operation)
        del pm
