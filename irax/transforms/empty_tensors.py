"""A pass that removes the work on tensors with no elements.

A tensor with a 0 in its shape holds nothing, so whatever computes one is
replaced by `tensor.empty`. A linalg op that reads one runs its loops zero
times, so its result is its init (`outs`) as it was before the loops: the
sum over an empty axis is the zeros it was filled with, `(m, 0) @ (0, n)`
is the zero matrix. A scatter of no updates leaves its original as it was
(IREE 3.13's compiler dies of a division by zero on one: the gradient of
`x[False]`).

Why: on Vulkan, IREE 3.13 still dispatches such ops, and binding a
zero-byte buffer fails at run time ("Vulkan dispatch binding 0 resolved to
an empty buffer range", seen on lavapipe). Everywhere else it is simply
work not done.
"""
from iree.compiler import ir
from iree.compiler.dialects import tensor


def _has_no_elements(value) -> bool:
    t = value.type
    return isinstance(t, ir.RankedTensorType) and t.has_static_shape and 0 in t.shape


def _loops_over_nothing(op) -> bool:
    """Whether the linalg op `op` reads an empty tensor through a plain loop
    index, so that one of its loops has no iterations."""
    n_inputs = len(op.operands) - len(op.results)
    maps = op.attributes["indexing_maps"] if "indexing_maps" in op.attributes else None
    for i, operand in enumerate(list(op.operands)[:n_inputs]):
        if not _has_no_elements(operand):
            continue
        if maps is None:  # a named op (matmul, transpose, copy): every index is a loop
            return True
        shape, exprs = operand.type.shape, ir.AffineMapAttr(maps[i]).value.results
        if any(size == 0 and isinstance(e, ir.AffineDimExpr) for size, e in zip(shape, exprs)):
            return True
    return False


def _scatters_nothing(op) -> bool:
    """Whether `op` is an iree_linalg_ext.scatter of an empty `updates`."""
    return op.name == "iree_linalg_ext.scatter" and _has_no_elements(op.operands[0])


def fold_empty_tensors(module_op):
    ops = []
    module_op.walk(lambda op: ops.append(op) or ir.WalkResult.ADVANCE)
    for op in ops:
        if op.name == "tensor.empty" or not op.results:
            continue
        if (op.name.startswith("linalg.") and _loops_over_nothing(op)) or _scatters_nothing(op):
            inits = list(op.operands)[len(op.operands) - len(op.results):]
            for result, init in zip(op.results, inits):
                result.replace_all_uses_with(init)
            continue
        for result in op.results:
            if _has_no_elements(result) and any(True for _ in result.uses):
                t = result.type
                with ir.InsertionPoint(op), op.location:
                    result.replace_all_uses_with(tensor.EmptyOp(t.shape, t.element_type).result)
