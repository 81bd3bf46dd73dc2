"""A pass that puts each strided slice that a contraction reads behind a
`util.optimization_barrier`, so that IREE copies it out in a dispatch of its
own instead of fusing the slice into the contraction's.

Why: with data tiling (the CPU backend's `--iree-global-opt-data-tiling`),
IREE 3.13 computes wrong values for a contraction whose vector operand is a
strided slice that it fuses into the operand's packing: `x[:, 0] @ w`,
`w.T @ x[:, 1]` and `einsum("bi,bij->bj", h[:, :, 0], h)` came back wrong
under jit (errors of order 1 to 10), `x[0] @ w` and matrix slices right,
and right again once the slice is its own dispatch.

A slice is strided when consecutive elements of the values it reads are
not next to each other in its source: its innermost source dimension is
stepped (stride > 1), or only one element of it is taken while more than
one element is read in all (a column).
"""
import math

from iree.compiler import ir

from irax.ir import iree
from irax.ir.linalg import iterator_names

_RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape")
_NAMED_CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul", "linalg.matvec", "linalg.vecmat", "linalg.dot")


def _is_contraction(op) -> bool:
    if op.name in _NAMED_CONTRACTIONS:
        return True
    return op.name == "linalg.generic" and len(op.opview.inputs) == 2 and "reduction" in iterator_names(op.opview)


def _strided_slice(value) -> bool:
    """Whether `value` is (a reshape of) a strided tensor.extract_slice."""
    while isinstance(value, ir.OpResult) and value.owner.name in _RESHAPES:
        value = value.owner.operands[0]
    if not isinstance(value, ir.OpResult) or value.owner.name != "tensor.extract_slice":
        return False
    op = value.owner
    source = ir.RankedTensorType(op.operands[0].type).shape
    sizes, strides = list(op.attributes["static_sizes"]), list(op.attributes["static_strides"])
    if any(ir.ShapedType.is_dynamic_size(s) for s in sizes + strides):
        return True
    return strides[-1] != 1 or (sizes[-1] == 1 and source[-1] != 1 and math.prod(sizes) > 1)


def materialize_strided_operands(module_op):
    contractions = []
    module_op.walk(lambda op: (contractions.append(op) if _is_contraction(op) else None) or ir.WalkResult.ADVANCE)
    for op in contractions:
        inputs = op.opview.inputs
        for k, value in enumerate(list(inputs)):
            if _strided_slice(value):
                with ir.InsertionPoint(op), ir.Location.unknown():
                    op.operands[k] = iree.opaque(value)[0]
