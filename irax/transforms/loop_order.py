"""A pass that numbers each `linalg.generic`'s loops in the order its output
reads them: `out[d2, d1]` over loops (d0, d1, d2) becomes `out[d0, d1]` over
(d2, d1, d0) renamed. The same loops, the same computation.

Why: IREE 3.13's SPIR-V code generation computes wrong values for a
contraction whose output map lists its loops out of order (seen on lavapipe:
`out[d2, d1] += x[d0, d2] * z[d0, d1]` came back with the part below the
diagonal zero). The autodiff passes build exactly such generics for the
gradients of matmuls, so without this pass `grad` is wrong on Vulkan.
"""
from iree.compiler import ir

from irax.ir.linalg import iterator_names


def _dims(map_attr):
    """The loop dimensions an indexing map reads, or None if it is not a projected permutation."""
    results = ir.AffineMapAttr(map_attr).value.results
    return [e.position for e in results] if all(isinstance(e, ir.AffineDimExpr) for e in results) else None


def renumber_loops(op):
    """Renumber the loops of the linalg.generic `op` in place so that its
    (first) output reads them in increasing order."""
    maps = [_dims(m) for m in op.attributes["indexing_maps"]]
    n_inputs = len(op.operands) - len(op.results)
    if any(m is None for m in maps) or maps[n_inputs] == sorted(maps[n_inputs]):
        return
    iterators = iterator_names(op)
    order = maps[n_inputs] + [d for d in range(len(iterators)) if d not in maps[n_inputs]]
    new = {old: i for i, old in enumerate(order)}
    n = len(order)
    op.attributes["indexing_maps"] = ir.ArrayAttr.get(
        [ir.AffineMapAttr.get(ir.AffineMap.get(n, 0, [ir.AffineDimExpr.get(new[d]) for d in m])) for m in maps])
    op.attributes["iterator_types"] = ir.ArrayAttr.get(
        [ir.Attribute.parse(f"#linalg.iterator_type<{iterators[d]}>") for d in order])
    i64 = ir.IntegerType.get_signless(64)
    for inner in op.regions[0].blocks[0].operations:
        if inner.operation.name == "linalg.index":
            inner.attributes["dim"] = ir.IntegerAttr.get(i64, new[ir.IntegerAttr(inner.attributes["dim"]).value])


def normalize_loop_order(module_op):
    generics = []
    module_op.walk(lambda op: generics.append(op) or ir.WalkResult.ADVANCE)
    for op in generics:
        if op.name == "linalg.generic":
            renumber_loops(op.opview)
