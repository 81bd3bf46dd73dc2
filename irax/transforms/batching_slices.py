"""Batching rules for slices at batched offsets (batching.py's tensor.extract_slice
and tensor.insert_slice where an offset, size or stride is batched).

A slice at batched offsets, sizes or strides (x[j], x.at[j].set(v) with j
batched) is a different slice for every member: JAX batches it as a gather
or a scatter. Here it is a generic over the batched result that reads the
source with tensor.extract at each member's own indices: the slice
(extract_slice), or, per element of the destination, the update where the
element lies in the member's slice and the destination's value elsewhere
(insert_slice). A batched *size* (x.at[j].set(v) inserts an empty slice
where j is out of bounds) makes each member's slice a different shape: the
batched extract_slice is padded to the source's size along that dimension,
and only an insert_slice, which writes each member's own size, may read it.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor

from irax.ir import mlir
from irax.ir.iree import materialized
from irax.ir.scalar import select
from irax.transforms.ad.tensor_ops import tensor_type
from irax.transforms.batched_values import unstored


def batched_placement(op, batch) -> bool:
    """Whether a slice op's offsets, sizes or strides are batched."""
    return any(batch.is_batched(v) for v in list(op.offsets) + list(op.sizes) + list(op.strides))


def _placement(op):
    """Per dimension of the sliced tensor, its (offset, size, stride): each an
    int where static, else the (old) index Value."""
    columns = []
    for static, dynamic in ((op.static_offsets, op.offsets), (op.static_sizes, op.sizes),
                            (op.static_strides, op.strides)):
        values = iter(dynamic)
        columns.append([next(values) if s == mlir.DYNAMIC() else s for s in static])
    return list(zip(*columns))


def _kept_dims(sizes, reduced_shape) -> list:
    """Which of the sliced tensor's dimensions a (possibly rank-reducing)
    slice of `sizes` keeps, the others being unit dimensions it drops."""
    kept, r = [], 0
    for size in sizes:
        keep = r < len(reduced_shape) and (not isinstance(size, int) or size == reduced_shape[r]
                                           or reduced_shape[r] == mlir.DYNAMIC())
        kept.append(keep or not isinstance(size, int) or size != 1)
        r += kept[-1]
    return kept


class _Scalars:
    """The index operands of a slice op in a generic over the batch: each
    batched one is an input, read at [b]; `value` gives, in the body, an int
    or an operand as an index Value."""

    def __init__(self, op, batch):
        operands = list(op.offsets) + list(op.sizes) + list(op.strides)
        self.batched = list(dict.fromkeys(v for v in operands if batch.is_batched(v)))
        self.inputs = [batch.new[v] for v in self.batched]
        self.batch = batch
        self.args = {}

    def bind(self, args):
        self.args = {v: unstored(v, a) for v, a in zip(self.batched, args)}

    def value(self, p) -> ir.Value:
        if isinstance(p, int):
            return mlir.index(p)
        return self.args[p] if p in self.args else self.batch.new.get(p, p)


def inserts_padded(op, batch) -> bool:
    """Whether `op` is an insert_slice of batched sizes, which reads a padded
    slice at each member's own size (a padded destination it refuses, in
    Batch.moved)."""
    return op.operation.name == "tensor.insert_slice" and batched_placement(op.opview, batch)


def _clamp(i, n) -> ir.Value:
    """index `i` clamped to [0, n): the reads of padding stay in bounds."""
    return arith.maxsi(mlir.index(0), arith.minsi(i, arith.subi(n, mlir.index(1))))


def extract_at_batched_offsets(op, batch):
    """Member b's slice: source[b][offset_b + i * stride_b] at each index i of the result."""
    placement, source_batched = _placement(op), batch.is_batched(op.source)
    source = materialized(batch.new.get(op.source, op.source))
    source_dims = mlir.dims(source)[1 if source_batched else 0:]
    kept = _kept_dims([size for _, size, _ in placement], list(tensor_type(op.result).shape))
    shape = []  # the batched result's sizes, a batched one padded to the source's
    for (_, size, _), n, keep in zip(placement, source_dims, kept):
        if keep:
            shape.append(n if batch.is_batched(size) else size if isinstance(size, int) else batch.new.get(size, size))
    scalars = _Scalars(op, batch)
    rank = len(shape)

    def body(*args):
        scalars.bind(args[:-1])
        b, loops = linalg.IndexOp(0).result, iter(range(1, rank + 1))
        indices = [b] if source_batched else []
        for (offset, _, stride), n, keep in zip(placement, source_dims, kept):
            i = scalars.value(offset)
            if keep:
                i = arith.addi(i, arith.muli(linalg.IndexOp(next(loops)).result, scalars.value(stride)))
            indices.append(_clamp(i, n if isinstance(n, ir.Value) else mlir.index(n)))
        return [tensor.ExtractOp(source, indices).result]

    init = tensor.EmptyOp([batch.size] + shape, tensor_type(source).element_type).result
    result = mlir.generic(scalars.inputs, [init], [[0]] * len(scalars.inputs) + [list(range(rank + 1))],
                          [mlir.PARALLEL] * (rank + 1), body)
    if any(batch.is_batched(size) for _, size, _ in placement):
        batch.padded.add(op.result)
    return result


def insert_at_batched_offsets(op, batch):
    """dest with member b's slice replaced: at each index k of dest[b], where
    k = offset_b + i * stride_b for an index i < size_b of the slice,
    source[b][i], else dest[b][k]."""
    placement, source_batched = _placement(op), batch.is_batched(op.source)
    dest = batch.moved(op.dest)
    source = batch.new.get(op.source, op.source)
    source_dims = mlir.dims(source)[1 if source_batched else 0:]
    if any(isinstance(n, int) and n == 0 for n in source_dims):  # every member's slice is empty
        return dest
    source = materialized(source)
    kept = _kept_dims([size for _, size, _ in placement], list(tensor_type(op.source).shape))
    scalars = _Scalars(op, batch)
    rank = tensor_type(dest).rank

    def body(old, *args):
        scalars.bind(args[:-1])
        inside = arith.ConstantOp(ir.IntegerType.get_signless(1), 1).result
        indices, reads = [linalg.IndexOp(0).result] if source_batched else [], iter(source_dims)
        for d, ((offset, size, stride), keep) in enumerate(zip(placement, kept)):
            step = scalars.value(stride)
            q = arith.subi(linalg.IndexOp(d + 1).result, scalars.value(offset))
            span = arith.muli(scalars.value(size), step)
            inside = arith.andi(inside, arith.andi(arith.cmpi(arith.CmpIPredicate.sge, q, mlir.index(0)),
                                                   arith.cmpi(arith.CmpIPredicate.slt, q, span)))
            if not isinstance(stride, int) or stride != 1:
                on_stride = arith.cmpi(arith.CmpIPredicate.eq, arith.remsi(q, step), mlir.index(0))
                inside, q = arith.andi(inside, on_stride), arith.divsi(q, step)
            if keep:
                n = next(reads)
                indices.append(_clamp(q, n if isinstance(n, ir.Value) else mlir.index(n)))
        return [select(inside, tensor.ExtractOp(source, indices).result, old)]

    every = list(range(rank))
    init = tensor.EmptyOp(mlir.dims(dest), tensor_type(dest).element_type).result
    return mlir.generic([dest] + scalars.inputs, [init], [every] + [[0]] * len(scalars.inputs) + [every],
                        [mlir.PARALLEL] * rank, body)[0]
