"""Reductions kept out of their consumers' dispatches, for IREE's SPIR-V code.

IREE fuses a reduction across rows, and the elementwise ops on its result,
into one dispatch with an op that reads that result broadcast back over
the reduced axis (`x - b.mean(0)`, or a row of a loop's carry set from a reduction), and
IREE 3.13's SPIR-V code for such a dispatch races: on lavapipe `x - b.mean(0)`
of (9, 16) or (1000, 33) came back wrong on some calls and right on others
(errors up to 76), while (9, 8) and (64, 64) were right, as was the same
reduction in a dispatch of its own. Triangular solves with 9 or more
right-hand sides (their rows are such reductions, in a loop) were wrong the
same way. So for a SPIR-V target a generic that reads broadcast a value
computed from a reduction reads it through a `util.optimization_barrier`,
which ends the reduction's dispatch there: one more dispatch, and the
reduced values go through memory.
"""
from iree.compiler import ir
from iree.compiler.dialects import flow, tensor

from irax.ir import mlir
from irax.ir.linalg import RESHAPES, iterator_names, reads_broadcast


def separate_broadcast_reductions(mlir_text: str) -> str:
    """`mlir_text` with every broadcast read of a reduction's values through a barrier."""
    if '"reduction"' not in mlir_text:
        return mlir_text  # the common case, without parsing
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(mlir_text)
        generics = mlir.ops_where(module.operation, lambda op: op.name == "linalg.generic")
        reads = [(op, k) for op in generics for k in _broadcast_operands(op) if _from_reduction(op.operands[k])]
        barriers = {}  # value -> its barrier's result
        for op, k in reads:
            value = op.operands[k]
            if value not in barriers:
                with ir.InsertionPoint(op):
                    barriers[value] = _barrier(value)
            op.operands[k] = barriers[value]
        return str(module) if reads else mlir_text


def _barrier(value):
    """`value` through a barrier; a dynamic shape is tied to the result again
    (IREE cannot see through the barrier for its dims: eager kernels)."""
    result = ir.Operation.create("util.optimization_barrier", results=[value.type], operands=[value]).results[0]
    typ = ir.RankedTensorType(value.type)
    dynamic = [k for k in range(typ.rank) if typ.is_dynamic_dim(k)]
    if not dynamic:
        return result
    dims = [tensor.DimOp(value, mlir.index(k)).result for k in dynamic]
    return flow.TensorTieShapeOp(result, dims).result


def _broadcast_operands(op) -> list:
    """The inputs a generic reads broadcast: not each of its loops once (a
    map with fewer results, or a constant index into a dim of size 1)."""
    return [k for k in range(len(op.opview.inputs)) if reads_broadcast(op, k)]


def _from_reduction(value, depth=8) -> bool:
    """Whether `value` is the result of a reduction across rows, or
    elementwise work or a reshape of one (which IREE fuses into the
    reduction's dispatch)."""
    if not isinstance(value, ir.OpResult) or depth == 0:
        return False
    producer = value.owner
    if producer.name in RESHAPES:
        return _from_reduction(producer.operands[0], depth - 1)
    if producer.name != "linalg.generic":
        return False
    if _reduces_across_rows(producer):
        return True
    return any(_from_reduction(v, depth - 1) for v in producer.opview.inputs)


def _reduces_across_rows(op) -> bool:
    """A reduction whose input's last (contiguous) dim is a parallel loop,
    as `b.sum(0)`: the reductions seen to race. Those along the last dim
    (`b.sum(1)`) were right, and are left fused: a barrier after an i1 one
    inside a while loop made IREE's dispatch formation fail ("maximum
    iteration count exceeded in fixed point pipeline", random.poisson under vmap)."""
    iterators = iterator_names(op.opview)
    if "reduction" not in iterators:
        return False
    last = ir.AffineMapAttr(op.opview.indexing_maps[0]).value.results[-1:]
    return bool(last) and isinstance(last[0], ir.AffineDimExpr) and iterators[last[0].position] == "parallel"
