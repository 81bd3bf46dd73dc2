"""How the batching pass (batching.py) stores a batched value: a tensor
with the batch axis first, of size B. A batched *scalar* (an op on scalars
reading a batched tensor's element) is a tensor of shape (B,), of i64 for an
index, since IREE passes no tensor of index between dispatches.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor

from irax.ir import mlir
from irax.transforms.ad.tensor_ops import tensor_type


def batched_type(typ, size) -> ir.RankedTensorType:
    """The tensor type (or scalar type) `typ` with a leading axis of `size`
    (a batched scalar's elements as stored_type says)."""
    if isinstance(typ, ir.RankedTensorType):
        return ir.RankedTensorType.get([size] + list(typ.shape), typ.element_type)
    return ir.RankedTensorType.get([size], stored_type(typ))


def empty_batched(value, size) -> ir.Value:
    """tensor.empty of `value`'s type with a leading axis of `size`."""
    return tensor.EmptyOp([size] + mlir.dims(value), tensor_type(value).element_type).result


def broadcast(value, size) -> ir.Value:
    """`value` repeated along a new leading axis of `size`."""
    rank = tensor_type(value).rank
    return mlir.generic([value], [empty_batched(value, size)], [list(range(1, rank + 1)), list(range(rank + 1))],
                        [mlir.PARALLEL] * (rank + 1), lambda x, _: [x])[0]


def transpose_to_front(value, axis) -> ir.Value:
    """`value` with its axis `axis` moved first (the others in order)."""
    shape = list(tensor_type(value).shape)
    perm = [axis] + [d for d in range(len(shape)) if d != axis]
    init = tensor.EmptyOp([shape[d] for d in perm], tensor_type(value).element_type).result
    return linalg.transpose(value, outs=[init], permutation=perm).results[0]


def stored_type(typ) -> ir.Type:
    """The element type of a batched scalar of `typ`: i64 for an index (IREE
    passes no tensor of index between dispatches)."""
    return ir.IntegerType.get_signless(64) if isinstance(typ, ir.IndexType) else typ


def stored(value) -> ir.Value:
    """A scalar as a batched scalar stores it."""
    return arith.index_cast(stored_type(value.type), value) if isinstance(value.type, ir.IndexType) else value


def unstored(old, value) -> ir.Value:
    """The element `value` of a batched scalar, as the scalar `old` it stands for."""
    return arith.index_cast(old.type, value) if isinstance(old.type, ir.IndexType) else value
