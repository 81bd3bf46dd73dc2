"""A pass: an update whose new values are read from the tensor it updates
(`x.at[1:3].set(x[:2])`, the shift of a buffer) reads them through a
`util.optimization_barrier`; so does every reader of the old values of the
slice an update writes in place, through a copy.

    %s = tensor.extract_slice %x[0] [2] [1]            %s = tensor.extract_slice %x[0] [2] [1]
    %u = tensor.insert_slice %s into %x[1] [2] [1]  -> %b = util.optimization_barrier %s
                                                       %u = tensor.insert_slice %b into %x[1] [2] [1]

Why: IREE 3.13 copies x into the result's buffer, then copies the slice
from that buffer into itself, which its command buffers refuse when the
two ranges overlap ("source and target ranges overlap within the same
buffer": a DeviceError at every call). Behind the barrier the slice is a
value of its own, copied out of x before the update writes.

The second case: with `s = x[1]` read by the update of x[1] and by other
work too, IREE 3.13 could fuse that other work's read of s into a
dispatch that ran after the update had written x in place, so it read the
new value (the tangent of `(2 * y).at[1].max(2.5)` under jvp read 2.5, a
tie with the bound, and came out halved). So s is copied out first
(`iree.copied`) and read through a barrier. A barrier alone was not
enough where s's reader was a barrier already: the gradient of
`y.at[2].set(y[j])`, whose cotangent reads the slice into a scatter
(behind the scatter's own barrier) while the slice is zeroed in place,
read the zeros.
"""
from iree.compiler import ir

from irax.ir import iree, mlir

_VIEWS = ("tensor.extract_slice", "tensor.expand_shape", "tensor.collapse_shape", "tensor.cast")


def _root(value):
    """The tensor `value` is a view of, or an update of (through the
    destinations of insert_slices): what IREE may give the same buffer."""
    while isinstance(value, ir.OpResult) and value.owner.name in _VIEWS + ("tensor.insert_slice",):
        op = value.owner
        value = op.operands[1] if op.name == "tensor.insert_slice" else op.operands[0]
    return value


def barrier_self_updates(module_op):
    for op in mlir.ops_where(module_op, lambda op: op.name == "tensor.insert_slice"):
        source, destination = op.operands[0], op.operands[1]
        if _root(source) == _root(destination):
            with ir.InsertionPoint(op), op.location:
                [op.operands[0]] = iree.opaque(source)
        for use in list(destination.uses):
            if use.owner.name == "tensor.extract_slice" and _same_slice(use.owner, op):
                _read_through_barrier(use.owner.results[0])


_SLICE = ("static_offsets", "static_sizes", "static_strides")


def _same_slice(extract, insert) -> bool:
    """Whether `extract` reads the slice `insert` writes (the same offsets,
    sizes and strides): the old values a read-modify-write overwrites. (A
    slice elsewhere, as the row a scan's step reads beside the one it
    writes, stays a read in place.)"""
    return (all(extract.attributes[a] == insert.attributes[a] for a in _SLICE)
            and list(extract.operands)[1:] == list(insert.operands)[2:])


def _read_through_barrier(value):
    """Give every reader of `value` the value through one barrier after it."""
    readers = [(use.owner, use.operand_number) for use in value.uses]
    if not readers:
        return
    with ir.InsertionPoint.after(value.owner), value.owner.location:
        [barrier] = iree.opaque(iree.copied(value))
    for owner, index in readers:
        owner.operands[index] = barrier
