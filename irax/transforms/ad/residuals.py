"""The residuals of a VJP: the values its backward part reads from its forward part.

`build_vjp` (vjp.py) writes @f_vjp(x..., ct...) as @f's ops (the forward
part) followed by the backward part, which reads some of the forward
part's values: the arguments x and results of forward ops that the
derivatives need (a product's operands, a sine's argument), and, for a
call of a checkpointed function, the call's operands and the values its
policy saves. Those are what a program must keep from the forward pass to
the backward one: JAX's residuals, which `print_saved_residuals` lists.

Before building, `mark_boundary` puts a marker op at the end of @f's body.
The backward part is built after it (at the return), and what the rules
add to the forward part (a checkpointed call's saved values, a loop's
stacks) is built before it, in place. `residuals` then reads what the ops
after the marker need. The backward part's ops are not cleaned up yet
(canonicalize comes later), so "need" is read from use: an op counts only
if what it makes is needed, and a linalg.generic reads an operand only if
its body uses it for what it yields (an adjoint's body is a copy of the
primal's, partly dead).
"""
from iree.compiler import ir
from iree.compiler.dialects import arith

BOUNDARY = "irax.residuals_boundary"  # unit attribute of the marker op

# Ops that read only their operands' shapes, not their values.
_SHAPE_ONLY = {"tensor.dim", "tensor.empty"}


def mark_boundary(function):
    """Put the marker op before `function`'s return (it makes an index
    constant, which no AD rule differentiates or reads)."""
    block = function.regions[0].blocks[0]
    ret = block.operations[len(block.operations) - 1]
    with ir.InsertionPoint(ret), ir.Location.unknown():
        marker = arith.ConstantOp(ir.IndexType.get(), 0)
    marker.operation.attributes[BOUNDARY] = ir.UnitAttr.get()


def _nested_operands(op) -> list:
    """The operands of `op` and of the ops in its regions."""
    found = []
    op.walk(lambda inner: found.extend(inner.operands) or ir.WalkResult.ADVANCE)
    return found


def _generic_reads(op, live_results) -> list:
    """The values a linalg.generic reads to make its results `live_results`
    (indices): the operands whose block arguments its body uses for them,
    and the values the body reads from outside (a gather's table)."""
    block = op.regions[0].blocks[0]
    ops = list(block.operations)
    live = {ops[-1].operands[i] for i in live_results}
    for inner in reversed(ops[:-1]):
        if not len(inner.results) or any(r in live for r in inner.results):
            live.update(_nested_operands(inner))
    read = [v for v, arg in zip(op.operands, block.arguments) if arg in live]
    return read + list(live)  # (the body's own values are never forward values)


def _reads(op, live_results) -> list:
    if op.name == "linalg.generic":
        return _generic_reads(op, live_results)
    if op.name in _SHAPE_ONLY:
        return []
    return _nested_operands(op)


def residuals(function, n_args: int) -> list:
    """The forward values that the backward part of `function` (a VJP built
    from a function marked by `mark_boundary`, whose first `n_args`
    arguments are the primal's) reads: arrays among those arguments, then
    results of forward ops, in program order."""
    block = function.regions[0].blocks[0]
    ops = [op.operation for op in block.operations]
    cut = next(i for i, op in enumerate(ops) if BOUNDARY in op.attributes)
    forward, backward, ret = ops[:cut], ops[cut + 1:-1], ops[-1]
    live, read = set(ret.operands), set()
    for op in reversed(backward):
        live_results = [i for i, r in enumerate(op.results) if r in live]
        if live_results or not len(op.results):
            values = _reads(op, live_results)
            live.update(values)
            read.update(values)
    # (an arith.constant is part of the program, which the backward part has too: nothing is kept)
    candidates = list(block.arguments)[:n_args] + [r for op in forward if op.name != "arith.constant"
                                                   for r in op.results]
    return [v for v in candidates if v in read and isinstance(v.type, ir.RankedTensorType)]
