"""Calls of Python callbacks, as the passes see them.

The frontend (irax/frontend/callbacks.py) traces `irax.debug.print`,
`irax.debug.callback` and `irax.pure_callback` as a call of a body-less
private function, which the program imports from the host (IREE resolves
it against the Python module irax's runtime gives the program):

    func.func private @"irax_host.callback_0"(tensor<3xf32>) -> tensor<3xf32>
    %y = func.call @"irax_host.callback_0"(%x) {irax.callback = "pure"}

"debug" callbacks return nothing, so nothing is differentiated through
them; a "pure" one has results, which have no derivative, as in JAX.
There is no body to inline.

A collective of irax.pmap (frontend/collectives.py: psum, all_gather,
ppermute, ...) is such a call too, marked with its name (`COLLECTIVE`).
The linear ones also name the import that computes their transpose
(`TRANSPOSE`; psum's is psum itself, all_gather's psum_scatter, ppermute's
the inverse permutation), which the frontend declares beside the
collective when it traces it: their JVP is the same collective applied to
the tangent, their VJP the transpose applied to the cotangent
(`collective_jvp`, `collective_vjp`). Every device runs the same program,
so every device makes the same calls, in the same order. Batched, a
collective's transpose is batched with it (transforms/batching.py). Batched (transforms/batching.py), a callback
calls an import of its own, declared with the original's name and which of
its operands are batched (`BATCHED_OF`, `BATCHED`), for which the frontend
writes the Python (frontend/callbacks.py), as the call's `VMAP_METHOD` says.
"""
from iree.compiler import ir
from iree.compiler.dialects import func

from irax.ir import mlir

CALLBACK = "irax.callback"  # the callback's kind: "debug", "pure" or "io" (io_callback's)
VMAP_METHOD = "irax.vmap_method"  # a pure callback's vmap_method ("none" if None)
BATCHED_OF = "irax.batched_of"  # on a batched callback's declaration: the callback it batches
BATCHED = "irax.batched"  # ... and which of its operands have the batch axis (first)
COLLECTIVE = "irax.collective"  # on a collective's call: its name ("psum", "all_gather", ...)
TRANSPOSE = "irax.transpose"  # ... and, if it is linear, the import that computes its transpose


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


def has_no_derivative(op) -> bool:
    """Whether `op` is a pure or io callback: a call with results but no
    derivative (a debug callback has no results; a collective has rules of its own)."""
    return CALLBACK in op.attributes and ir.StringAttr(op.attributes[CALLBACK]).value in ("pure", "io")


def not_differentiable(call) -> ValueError:
    """JAX's error for differentiating through a pure or io callback's results."""
    if ir.StringAttr(call.operation.attributes[CALLBACK]).value == "io":
        return ValueError("IO callbacks do not support JVP.")
    return ValueError("Pure callbacks do not support JVP. Please use `irax.custom_jvp` to use callbacks while "
                      "taking gradients.")


def is_collective(call) -> bool:
    return COLLECTIVE in call.operation.attributes


def _linear_callee(call, attribute) -> str:
    """The import `attribute` ("callee" or TRANSPOSE) of a linear
    collective's call; JAX's error for one that is not linear (pmax, pmin)."""
    attributes = call.operation.attributes
    if TRANSPOSE not in attributes:
        name = ir.StringAttr(attributes[COLLECTIVE]).value
        raise NotImplementedError(f"Differentiation rule for '{name}' not implemented")
    return ir.FlatSymbolRefAttr(attributes[attribute]).value


def _call_like(call, callee: str, operand, transpose: str):
    """A call of import @callee, whose transpose is @transpose, on `operand`,
    with `call`'s other attributes, at the insertion point."""
    declaration = mlir.find_function(mlir.enclosing_module(call), callee)
    function_type = ir.FunctionType(ir.TypeAttr(declaration.attributes["function_type"]).value)
    (operand_type,), result_types = function_type.inputs, function_type.results
    if operand_type != operand.type:  # (batching declares a batched collective's transpose batched too)
        raise NotImplementedError(f"irax autodiff: the collective {callee} takes {operand_type}, not {operand.type}")
    new = func.CallOp(list(result_types), ir.FlatSymbolRefAttr.get(callee), [operand])
    for attribute in call.operation.attributes:
        if attribute not in ("callee", TRANSPOSE):
            new.attributes[attribute] = call.operation.attributes[attribute]
    new.attributes[TRANSPOSE] = ir.FlatSymbolRefAttr.get(transpose)
    return new.results[0]


def collective_jvp(call, tangents) -> list:
    """A linear collective's tangent: the collective of the tangent."""
    (tangent,) = tangents
    if tangent is None:
        return [None]
    return [_call_like(call, _linear_callee(call, "callee"), tangent, _linear_callee(call, TRANSPOSE))]


def collective_vjp(call, cts) -> list:
    """A linear collective's (operand, cotangent): its transpose applied to
    the result's cotangent."""
    (ct,) = cts
    return [(call.operands[0], _call_like(call, _linear_callee(call, TRANSPOSE), ct, _linear_callee(call, "callee")))]
