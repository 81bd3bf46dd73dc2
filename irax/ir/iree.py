"""IREE-specific ops and workarounds, each with its reason.

Ops of IREE's own dialects that the upstream Python bindings have no builder
for are created here by name.
"""
from iree.compiler import ir


def linalg_ext_scatter(updates, targets, dest, combine):
    """iree_linalg_ext.scatter: dest[targets[p]] = combine(dest[targets[p]], updates[p])
    for each p in order (1-D updates, (n, 1) targets, 1-D dest).

    Why IREE's op rather than a loop: with unique_indices(false) it applies
    the updates one after another, as repeated indices need (they accumulate,
    or the last one wins). scf.for loops carrying the tensor do not fit IREE:
    at the top level they run on its host, one VM step per element, and fail
    to compile with dynamic shapes; inside a dispatch region they fail to
    bufferize."""
    op = ir.Operation.create(
        "iree_linalg_ext.scatter",
        results=[dest.type],
        operands=[updates, targets, dest],
        attributes={"dimension_map": ir.DenseI64ArrayAttr.get([0]), "unique_indices": ir.BoolAttr.get(False)},
        regions=1,
    )
    element = [ir.RankedTensorType(t.type).element_type for t in (updates, dest)]
    block = op.regions[0].blocks.append(*element)
    with ir.InsertionPoint(block):
        update, old = block.arguments
        ir.Operation.create("iree_linalg_ext.yield", operands=[combine(old, update)])
    return op.results[0]
