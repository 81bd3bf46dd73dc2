"""A pass that puts the contraction operands IREE 3.13 miscompiles when it
fuses their producers into the contraction's dispatch behind a
`util.optimization_barrier`, so that IREE computes each in a dispatch of its
own and the contraction reads it from memory. Three kinds:

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
- **Broadcasts along a summed loop.** When IREE fuses an elementwise
  producer into a contraction generic, the producer's inputs become the
  contraction's operands, read through the composed maps. An input that
  reads one of the loops the contraction sums but not another makes a
  contraction IREE's CPU code generation rejects ("'vector.contract' op
  invalid accumulator/result vector shape") or crashes on (a segfault with
  data tiling): `vdot(a, broadcast_to(b, a.shape))` under jit, and the
  gradient of a vmapped `(x * np.arange(2.) * s).sum()` with respect to
  `s`. (Compiled alone, the generics that skip a summed loop failed where
  they read a later one: sums over (i, j) of a[i, j] b[j], over (i, j, k)
  of a[i, j, k] b[k], b[j, k] or b[i, k]; those that read none (b[i] summed
  over (i, j) beside a parallel i; a scalar) or only earlier ones (b[i]
  summed over (i, j)) compiled. The loop order can change after this pass,
  so any summed loop read counts.)

A strided slice that a loop body reads by `tensor.extract` (a gather: the
row permutation of `jnp.linalg.solve(a, b[:, ::2])`) is put apart too:
IREE 3.13 failed to compile the dispatch it fused it into ("LLVM
Translation failed for operation: builtin.unrealized_conversion_cast").
"""
import math

from iree.compiler import ir

from irax.ir import iree
from irax.ir.linalg import is_projected, iterator_names, map_results

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


def _loops_read(value, loops) -> set:
    """The sets of contraction loops that the inputs fused into `value` read,
    where `loops[i]` is the loop that indexes `value`'s dim i: IREE fuses the
    elementwise generics that compute `value` (and theirs, and so on), so
    their inputs are read through the composed maps. A value computed by
    anything else (a window's generic too) is read as it is. (Each value
    and loops visited once: a chain of x * x would double at each link.)"""
    reads, seen, todo = set(), set(), [(value, tuple(loops))]
    while todo:
        value, loops = todo.pop()
        if (value, loops) in seen:
            continue
        seen.add((value, loops))
        producer = value.owner if isinstance(value, ir.OpResult) else None
        if (producer is None or producer.name != "linalg.generic" or not is_projected(producer.opview)
                or "reduction" in iterator_names(producer.opview)):
            reads.add(frozenset(loops))
            continue
        generic = producer.opview
        maps = [map_results(m) for m in generic.indexing_maps]
        loop_of = dict(zip(maps[len(generic.inputs) + value.result_number], loops))  # producer's loop -> ours
        todo += [(operand, tuple(loop_of[p] for p in read if p in loop_of))
                 for operand, read in zip(generic.inputs, maps)]
    return reads


def _skips_summed_loop(op, k) -> bool:
    """Whether fusing the producers of contraction generic `op`'s input `k`
    would leave it reading an operand that reads one loop it sums but not
    another (see the module's docstring)."""
    if op.name != "linalg.generic" or not is_projected(op.opview):  # (a window's maps: a convolution)
        return False
    loops = map_results(op.opview.indexing_maps[k])
    iterators = iterator_names(op.opview)
    summed = {p for p in loops if iterators[p] == "reduction"}
    return any(read & summed and not summed <= read for read in _loops_read(op.opview.inputs[k], loops))


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
            if producer is not None and (MISCOMPILED.get(producer.name, lambda op: False)(producer)
                                         or _skips_summed_loop(op, k)):
                with ir.InsertionPoint(op), ir.Location.unknown():
                    op.operands[k] = iree.opaque(value)[0]
