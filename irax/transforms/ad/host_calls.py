"""Calls of Python callbacks, as the passes see them.

The frontend (irax/frontend/callbacks.py) traces `irax.debug.print`,
`irax.debug.callback` and `irax.pure_callback` as a call of a body-less
private function, which the program imports from the host (IREE resolves
it against the Python module irax's runtime gives the program):

    func.func private @"irax_host.callback_0"(tensor<3xf32>) -> tensor<3xf32>
    %y = func.call @"irax_host.callback_0"(%x) {irax.callback = "pure"}

"debug" callbacks return nothing, so nothing is differentiated through
them; a "pure" one has results, which have no derivative, as in JAX.
There is no body to inline. Batched (transforms/batching.py), a callback
calls an import of its own, declared with the original's name and which of
its operands are batched (`BATCHED_OF`, `BATCHED`), for which the frontend
writes the Python (frontend/callbacks.py), as the call's `VMAP_METHOD` says.
"""
from iree.compiler import ir

CALLBACK = "irax.callback"  # the callback's kind: "debug" or "pure"
VMAP_METHOD = "irax.vmap_method"  # a pure callback's vmap_method ("none" if None)
BATCHED_OF = "irax.batched_of"  # on a batched callback's declaration: the callback it batches
BATCHED = "irax.batched"  # ... and which of its operands have the batch axis (first)


def is_callback(call) -> bool:
    return CALLBACK in call.operation.attributes


def _is_debug(op) -> bool:
    return CALLBACK in op.attributes and ir.StringAttr(op.attributes[CALLBACK]).value == "debug"


def drop_debug_calls(ops) -> list:
    """`ops` less the debug callbacks among them and inside them (erased):
    ops that a derivative computes again (a loop body, for the backward
    pass) print nothing again; under grad a debug callback runs in the
    forward pass only, as in JAX."""
    kept = [op for op in ops if not _is_debug(op.operation)]
    calls = []
    for op in ops:
        op.operation.walk(lambda inner: (calls.append(inner) if _is_debug(inner) else None) or ir.WalkResult.ADVANCE)
    for call in calls:
        call.erase()
    return kept


def not_differentiable() -> ValueError:
    """JAX's error for differentiating through a pure callback's results."""
    return ValueError("Pure callbacks do not support JVP. Please use `irax.custom_jvp` to use callbacks while "
                      "taking gradients.")
