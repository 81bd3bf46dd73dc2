"""A pass that puts the contraction operands IREE 3.13 miscompiles when it
fuses their producers into the contraction's dispatch behind a
`util.optimization_barrier`, so that IREE computes each in a dispatch of its
own and the contraction reads it from memory. Two kinds:

- **Strided slices.** With data tiling (the CPU backend's
  `--iree-global-opt-data-tiling`), IREE computed wrong values for a
  contraction whose vector operand is a strided slice fused into the
  operand's packing: `x[:, 0] @ w`, `w.T @ x[:, 1]` and
  `einsum("bi,bij->bj", h[:, :, 0], h)` came back wrong under jit (errors of
  order 1 to 10), `x[0] @ w` and matrix slices right. A slice is strided
  when consecutive elements of the values it reads are not next to each
  other in its source: its innermost source dimension is stepped
  (stride > 1), or only one element of it is taken while more than one
  element is read in all (a column).
- **Splats** (a `linalg.fill` or a splat constant: `a @ jnp.ones(...)`, and
  the zero tangents and cotangents autodiff writes). IREE's SPIR-V code
  stages such an operand in workgroup memory, each invocation storing its
  own element, and reads the other invocations' elements with no barrier
  between: on Vulkan `jit(lambda a: a @ jnp.zeros((5, 5)))` returned
  whatever an earlier dispatch had left in workgroup memory (1e27s), and so
  did eigh's gradient now and then.

A strided slice that a loop body reads by `tensor.extract` (a gather: the
row permutation of `jnp.linalg.solve(a, b[:, ::2])`) is put apart too:
IREE 3.13 failed to compile the dispatch it fused it into ("LLVM
Translation failed for operation: builtin.unrealized_conversion_cast").
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


def _producer(value):
    """The op that computes `value`, looking through reshapes (None for a block argument)."""
    while isinstance(value, ir.OpResult) and value.owner.name in _RESHAPES:
        value = value.owner.operands[0]
    return value.owner if isinstance(value, ir.OpResult) else None


def _strided_slice(op) -> bool:
    sizes, strides = list(op.attributes["static_sizes"]), list(op.attributes["static_strides"])
    if any(ir.ShapedType.is_dynamic_size(s) for s in sizes + strides):
        return True
    source = ir.RankedTensorType(op.operands[0].type).shape
    return strides[-1] != 1 or (sizes[-1] == 1 and source[-1] != 1 and math.prod(sizes) > 1)


def _splat_constant(op) -> bool:
    value = op.attributes["value"]
    return isinstance(value, ir.DenseElementsAttr) and value.is_splat


MISCOMPILED = {  # producer op -> whether IREE gets a contraction reading it wrong when fused
    "tensor.extract_slice": _strided_slice,
    "linalg.fill": lambda op: True,
    "tensor.splat": lambda op: True,
    "arith.constant": _splat_constant,
}


def _strided_slice_reads(op) -> list:
    """The tensor.extract ops in linalg.generic `op`'s body that read a
    strided slice computed outside it."""
    if op.name != "linalg.generic":
        return []
    reads = []
    for inner in op.regions[0].blocks[0].operations:
        producer = _producer(inner.operands[0]) if inner.name == "tensor.extract" else None
        if producer is not None and producer.name == "tensor.extract_slice" and _strided_slice(producer):
            reads.append(inner)
    return reads


def materialize_contraction_operands(module_op):
    gathers = []
    module_op.walk(lambda op: (gathers.append(op) if _strided_slice_reads(op) else None) or ir.WalkResult.ADVANCE)
    for op in gathers:
        opaque = {}  # a slice -> its barrier, one per gather
        for read in _strided_slice_reads(op):
            value = read.operands[0]
            if value not in opaque:
                with ir.InsertionPoint(op), ir.Location.unknown():
                    opaque[value] = iree.opaque(value)[0]
            read.operands[0] = opaque[value]
    contractions = []
    module_op.walk(lambda op: (contractions.append(op) if _is_contraction(op) else None) or ir.WalkResult.ADVANCE)
    for op in contractions:
        for k, value in enumerate(list(op.opview.inputs)):
            producer = _producer(value)
            if producer is not None and MISCOMPILED.get(producer.name, lambda op: False)(producer):
                with ir.InsertionPoint(op), ir.Location.unknown():
                    op.operands[k] = iree.opaque(value)[0]
