"""Indexing primitives: static slices, gathers, and the updates of both.

    static_slice   x[1:5:2, 3, None]         tensor.extract_slice
    update_slice   x.at[1:5:2, 3].add(v)     extract_slice, combine with v, tensor.insert_slice;
                   x.at[i, 2:4].set(v)       also at scalar index arrays i (dynamic offsets)
    gather         x[idx, :, 2]              linalg.generic reading x with tensor.extract
    scatter        x.at[idx, :].add(v)       iree_linalg_ext.scatter of the elements, in order

Static slices
-------------
Each dimension j of x is read at `start[j] + i * step[j]` for i < size[j];
an integer index is a slice of size 1. The slice keeps the rank of x, and
`out_dims` then says which of its dims the output keeps, in order, with None
for a new unit axis: x[1:5:2, 3, None] has out_dims (0, None). Dims that
differ only by units are reshaped with collapse_shape/expand_shape. A
negative step reads x with a gather-style generic instead (extract_slice takes
no negative strides).

A static_slice may take its starts at run time: a None start is read from
the next 0-d index operand, counted from the end if negative where `wrap`
is set (lax.dynamic_slice's; numpy/indexing.py wraps its starts itself),
then clamped so that the slice lies in x, as JAX's dynamic_slice does. So
one eager kernel serves x[i] for every Python int i (numpy/indexing.py
passes them as operands outside a trace) and lax.dynamic_slice at every
start. Such a read is a gather-style generic with the index operands as its
inputs: the device reads them, where IREE would read the offsets of an
extract_slice on the host, first waiting for every call queued before.

An update_slice may take some starts from 0-d index arrays (operands after
v; their `starts` entries are None): x.at[i].set(v) with i traced. Such an
index is a dynamic offset, with the scatter's out-of-bounds rules (`mode`,
`wrap`); a dropped update writes the old values back. It stays one
insert_slice, which IREE does in place in a donated argument: O(slice),
where a scatter copies x.

Gathers and scatters
--------------------
The general index: one *coordinate rule* per dimension j of x,

    ("slice", d, start, step, size)  x index start + step * i_d, i_d the
                                     output index along output dim d; size
                                     None is the whole axis (start 0, step 1)
    ("int", i)                       x index i
    ("array", k)                     x index idx_k[i_b...], the k-th index
                                     array at the output position

All index arrays broadcast together to one shape B, which sits in the output
at dims [array_offset, array_offset + len(B)) (NumPy's advanced-indexing
rules decide where: see numpy/indexing.py). An index array only shapes B when
no rule reads it (the unit axis that `x[True, idx]` adds).

Out-of-bounds array indices follow JAX: negative ones count from the end
(`wrap`), then a gather clips (`clip`), returns `fill_value` (`fill`), or
wraps around (`wrap`, for jnp.take); a scatter drops the update (`drop`) or
clips (`clip`). A `promise_in_bounds` gather clips its values but, as XLA's
gather of that mode differentiates in JAX, no cotangent reaches x from an
index out of bounds (the JVP reads the clamped element's tangent): there it
reads `mlir.stop_gradient(x, reverse_only=True)`, which reverse mode takes
for a constant (the same element, once IREE's canonicalization has erased
the identity). Gathers and scatters compile once per rank: the output size
follows from the operand sizes, so they use `dynamic_shapes`.

Working around IREE 3.13 (each place says why): `update_slice` keeps an
argument x alive past its insert_slice, else IREE writes into the caller's
buffer; reads with tensor.extract take a materialized x (`materialized`);
the scatter hides its inputs from fusion (ir/iree.py).
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor

from irax.frontend import dtypes
from irax.frontend.core import EmitContext, ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import broadcast_shapes, drop_broadcast_dims, emit_elementwise
from irax.frontend.primitives.scalar_rules import BINARY, dtype_kind
from irax.ir import mlir
from irax.ir.iree import linalg_ext_scatter, materialized
from irax.ir.scalar import cmpi, convert_scalar, select

# Update ops: name -> BINARY rule combining (old, new); "set" keeps `new`.
# JAX's scatter-add/-mul/-sub reject bool, though BINARY has them as or/and.
UPDATE_OPS = {"set": None, "add": "add", "sub": "sub", "mul": "mul", "min": "min", "max": "max"}
_NO_BOOL = {"add", "sub", "mul"}
GATHER_MODES = ("clip", "promise_in_bounds", "fill", "wrap")
SCATTER_MODES = ("drop", "clip")
_BOUNDS = {"drop": "fill", "clip": "clip"}  # a scatter's mode as the bounds rule of _coordinates


# ---------------------------------------------------------------------------
# Shared emitter helpers.


def _unit_groups(shape):
    """Reassociation groups that collapse `shape` to its non-unit dims: each
    unit dim joins its neighbouring non-unit dim (none are left: rank 0)."""
    groups, pending = [], []
    for i, d in enumerate(shape):
        pending.append(i)
        if d != 1:
            groups.append(pending)
            pending = []
    if pending and groups:
        groups[-1].extend(pending)
    return groups


def reshape_units(value, in_shape, out_shape, dtype):
    """Reshape between static shapes that differ only by unit dims: collapse
    to the non-unit dims, then expand to `out_shape`."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return value
    core = [d for d in in_shape if d != 1]
    assert core == [d for d in out_shape if d != 1], (in_shape, out_shape)
    if len(core) != len(in_shape):
        value = tensor.CollapseShapeOp(mlir.tensor_type(core, dtype), value, mlir.reassociation(_unit_groups(in_shape))).result
    if len(core) != len(out_shape):
        value = tensor.ExpandShapeOp(
            mlir.tensor_type(out_shape, dtype), value, mlir.reassociation(_unit_groups(out_shape)), [], out_shape
        ).result
    return value


def strided_read(x, starts, steps, sizes, dtype, indices=(), index_avals=(), wrap=False):
    """out[i...] = x[start + i * step, ...], steps of either sign: a generic
    reading x with tensor.extract, since a reversal is no projected
    permutation. A None start is the next of the 0-d `indices`, counted from
    the end if negative (`wrap`), then clamped so that the slice lies in x:
    to [0, n - span) for a step > 0, to [span, n) for a step < 0, span =
    (size - 1) * |step|. (The device reads these starts, so IREE's host reads
    of i8/i16 values as unsigned do not reach them.)"""
    rank = len(sizes)
    x_sizes = mlir.dims(x)

    def body(*scalars):
        values = iter(zip(scalars[:-1], index_avals))
        coords = []
        for d, (start, step) in enumerate(zip(starts, steps)):
            if start is None:
                i, aval = next(values)
                start, _ = _bound(i, aval.dtype, x_sizes[d], "clip", wrap)
                span = (sizes[d] - 1) * abs(step)
                if span:  # clamped further, so that the whole slice lies in x
                    start = (arith.maxsi(start, mlir.index(span)) if step < 0
                             else arith.minsi(start, _less(x_sizes[d], span + 1)))
            i = linalg.IndexOp(d).result
            if step != 1:
                i = arith.muli(i, mlir.index(step))
            coords.append(arith.addi(i, _index(start)) if start != 0 else i)
        return [tensor.ExtractOp(x, coords).result]

    return mlir.generic(list(indices), [mlir.empty(sizes, dtype)], [[]] * len(indices) + [list(range(rank))],
                        [mlir.PARALLEL] * rank, body)[0]


def _index(size):
    """A dimension size (int or index Value) as an index Value."""
    return mlir.index(size) if isinstance(size, int) else size


def _less(size, k):
    """size - k (size an int or index Value) as an index Value."""
    return mlir.index(size - k) if isinstance(size, int) else arith.subi(size, mlir.index(k))


def combiner(op, x_dtype, v_dtype, compute_dtype):
    """The scalar update rule `(old, v) -> new`, as JAX's scatters: both are
    promoted to `compute_dtype`, combined, and the result cast back to x's dtype."""
    rule = BINARY.get(UPDATE_OPS[op])

    def combine(old, v):
        new = convert_scalar(v_dtype, compute_dtype, v)
        if rule is not None:
            new = rule(compute_dtype, convert_scalar(x_dtype, compute_dtype, old), new)
        return convert_scalar(compute_dtype, x_dtype, new)

    return combine


def check_update(op, dtype, v_shape, target_shape):
    """The shared checks of update_slice and scatter: the op accepts the
    compute dtype, and the update broadcasts to the indexed shape."""
    if op not in UPDATE_OPS:
        raise ValueError(f"unknown update op {op!r}; expected one of {sorted(UPDATE_OPS)}")
    if op in _NO_BOOL and dtypes.is_bool(dtype):
        raise TypeError(f"scatter {op} does not accept dtype bool.")
    if op != "set" and dtype_kind(dtype) not in BINARY[UPDATE_OPS[op]].kinds:
        raise TypeError(f"scatter {op} does not accept dtype {np.dtype(dtype).name}.")
    if len(v_shape) > len(target_shape):
        raise ValueError(
            f"Cannot broadcast to shape with fewer dimensions: arr_shape={tuple(v_shape)} shape={tuple(target_shape)}"
        )
    for v, t in zip(v_shape[::-1], target_shape[::-1]):
        if v != 1 and v is not None and t is not None and v != t:
            raise ValueError(
                f"Incompatible shapes for broadcasting: update of shape {tuple(v_shape)} "
                f"to indexed shape {tuple(target_shape)}"
            )


# ---------------------------------------------------------------------------
# Static slices.

def _slice_shape(x, starts, sizes, steps, out_dims, indices):
    """Check a slice against x's shape and its run-time starts (`indices`,
    one 0-d integer array per None start); return the output shape."""
    if not len(starts) == len(sizes) == len(steps) == x.ndim:
        raise ValueError(f"static_slice: expected {x.ndim} starts, sizes and steps, got {len(starts)}, {len(sizes)}, {len(steps)}")
    if len(indices) != starts.count(None) or any(i.ndim or not dtypes.is_int(i.dtype) for i in indices):
        raise ValueError(f"static_slice: {starts.count(None)} run-time starts need as many 0-d integer arrays, "
                         f"got {[i.str_short() for i in indices]}")
    for j, (n, start, size, step) in enumerate(zip(x.shape, starts, sizes, steps)):
        last = (0 if start is None else start) + (size - 1) * step
        in_x = (size - 1) * abs(step) < n if start is None else 0 <= start < n and 0 <= last < n
        if step == 0 or size < 0 or (size > 0 and not in_x):
            raise IndexError(f"static_slice: slice {start}:{size}:{step} out of bounds for axis {j} of size {n}")
    kept = [j for j in out_dims if j is not None]
    dropped = set(range(x.ndim)) - set(kept)
    if sorted(kept) != kept or len(set(kept)) != len(kept) or any(sizes[j] != 1 for j in dropped):
        raise ValueError(f"static_slice: out_dims {out_dims} must keep every dim of size != 1, in order")
    return tuple(1 if j is None else sizes[j] for j in out_dims)


def _static_slice_eval(x, *indices, starts, sizes, steps, out_dims, wrap=False):
    return x.update(shape=_slice_shape(x, starts, sizes, steps, out_dims, indices))


def _read_slice(x, starts, sizes, steps, dtype, dynamic=()):
    """x's slice, in slice order: an extract_slice when every step is
    positive (`dynamic`: the offsets of the DYNAMIC `starts`), else a strided
    read (extract_slice takes no negative strides)."""
    if all(st > 0 for st in steps):
        return tensor.ExtractSliceOp(mlir.tensor_type(sizes, dtype), x, list(dynamic), [], [], starts, sizes, steps).result
    return strided_read(materialized(x), starts, steps, sizes, dtype)


def _static_slice_emit(ctx, x, *indices, starts, sizes, steps, out_dims, wrap=False):
    dtype = ctx.avals_in[0].dtype
    if 0 in sizes:  # nothing to read (and IREE rejects the offsets of an empty slice)
        return [mlir.empty(ctx.avals_out[0].shape, dtype)]
    if indices:
        out = strided_read(materialized(x), starts, steps, sizes, dtype, indices, ctx.avals_in[1:], wrap)
    else:
        out = _read_slice(x, starts, sizes, steps, dtype)
    return [reshape_units(out, sizes, ctx.avals_out[0].shape, dtype)]


static_slice = Primitive("static_slice", _static_slice_eval, _static_slice_emit)


def _update_slice_eval(x, v, *indices, starts, sizes, steps, out_dims, op, dtype, mode, wrap):
    for start, step in zip(starts, steps):
        if start is None and step != 1:  # a block, placed at run time
            raise ValueError(f"update_slice: a dynamic start takes step 1, got {step}")
    indexed = _slice_shape(x, starts, sizes, steps, out_dims, indices)
    check_update(op, dtype, v.shape, indexed)
    return x


def _dynamic_starts(x, starts, sizes, indices, index_avals, mode, wrap):
    """`starts` as (dynamic offsets, static offsets) for extract/insert_slice,
    each None start read from the next 0-d index array, and whether all of
    them were in bounds (None: every start is static, or `mode` clips). A
    start of one element follows the update's mode; a block's (an eager
    x.at[i:i + 3], whose start is a Python slice's, in bounds;
    lax.dynamic_update_slice's) counts from the end if negative (`wrap`),
    then is clamped so that the block fits, as lax.dynamic_update_slice's."""
    dynamic, static, ok = [], [], None
    values = iter(zip(indices, index_avals))
    for n, start, size in zip(mlir.dims(x), starts, sizes):
        if start is not None:
            static.append(start)
            continue
        i, aval = next(values)
        if not dtypes.is_unsigned(aval.dtype) and np.dtype(aval.dtype).itemsize < 4:
            # IREE 3.13 reads an i8 or i16 start on the host as unsigned (this
            # start sizes the insert): -2 became 65534, dropping the update
            i = arith.extsi(ir.RankedTensorType.get([], ir.IntegerType.get_signless(32)), i)
        rule = _BOUNDS[mode] if size == 1 else "clip"  # (a block is clamped, never dropped)
        i, in_bounds = _bound(tensor.ExtractOp(i, []).result, aval.dtype, n, rule, wrap)
        if size > 1:  # clamped further, so that the block fits
            i = arith.minsi(i, _less(n, size))
        dynamic.append(i)
        static.append(mlir.DYNAMIC())
        if in_bounds is not None:
            ok = in_bounds if ok is None else arith.andi(ok, in_bounds)
    return dynamic, static, ok


def _update_slice_emit(ctx, x, v, *indices, starts, sizes, steps, out_dims, op, dtype, mode, wrap):
    """new = combine(x[slice], v) in the indexed shape (v broadcast as in an
    elementwise op), then inserted where the slice came from. An update at
    dynamic starts that are out of bounds (`ok` false) changes nothing: a
    "set" inserts an empty slice, so that it never reads x (IREE copies a
    donated x that is both read and updated); the others write back what
    they read."""
    x_aval, v_aval, *index_avals = ctx.avals_in
    x_dtype = x_aval.dtype
    if 0 in sizes:
        return [x]
    indexed = ShapedArray(_slice_shape(x_aval, starts, sizes, steps, out_dims, index_avals), x_dtype)
    combine = combiner(op, x_dtype, v_aval.dtype, np.dtype(dtype))
    dynamic, starts, ok = _dynamic_starts(x, starts, sizes, indices, index_avals, mode, wrap)
    if op == "set":
        new = emit_elementwise(EmitContext((v_aval,), (indexed,)), v, body=lambda s: combine(None, s))[0]
    else:
        old = reshape_units(_read_slice(x, starts, sizes, steps, x_dtype, dynamic), sizes, indexed.shape, x_dtype)
        new = emit_elementwise(EmitContext((indexed, v_aval), (indexed,)), old, v, body=combine)[0]
        if ok is not None:
            rank = len(indexed.shape)  # (`ok` is read from above: IREE fails on a 0-d i1 tensor input)
            new = mlir.generic([new, old], [mlir.empty(indexed.shape, x_dtype)], [list(range(rank))] * 3,
                               [mlir.PARALLEL] * rank, lambda n, o, _: [select(ok, n, o)])[0]
    new = reshape_units(new, indexed.shape, sizes, x_dtype)
    dynamic_sizes = []
    if op == "set" and ok is not None:  # the first dynamic dim keeps its size if ok, else 0
        j = starts.index(mlir.DYNAMIC())
        dynamic_sizes = [arith.select(ok, mlir.index(sizes[j]), mlir.index(0))]
        sizes = [mlir.DYNAMIC() if k == j else n for k, n in enumerate(sizes)]
        new = tensor.ExtractSliceOp(mlir.tensor_type([None if k == j else n for k, n in enumerate(sizes)], x_dtype),
                                    new, [], dynamic_sizes, [], [0] * len(sizes), sizes, [1] * len(sizes)).result
    # insert_slice takes positive strides: a negative step writes the same
    # elements from the other end, so reverse the values along it.
    flipped = [j for j, (n, st) in enumerate(zip(sizes, steps)) if st < 0 and n > 1]
    lows = [s + (n - 1) * st if st < 0 and n > 0 else s for s, n, st in zip(starts, sizes, steps)]
    if flipped:
        new = strided_read(new, [sizes[j] - 1 if j in flipped else 0 for j in range(len(sizes))],
                           [-1 if j in flipped else 1 for j in range(len(sizes))], sizes, x_dtype)
    strides = [abs(st) for st in steps]
    return [tensor.InsertSliceOp(new, x, dynamic, dynamic_sizes, [], lows, sizes, strides).result]


# IREE would write the slice into x's buffer in place when x is a kernel
# argument (IREE issue 16168): transforms/buffer_reuse.py guards it.
update_slice = Primitive("update_slice", _update_slice_eval, _update_slice_emit)


# ---------------------------------------------------------------------------
# Gathers and scatters.

def _operand_shape(x, ravel):
    if not ravel:
        return x.shape
    return (None,) if None in x.shape else (x.size,)


def _indexed_shape(x_shape, index_avals, coords, out_rank, array_offset):
    """The output shape of a gather (the indexed shape of a scatter)."""
    if len(coords) != len(x_shape):
        raise ValueError(f"gather: {len(coords)} coordinate rules for an operand of rank {len(x_shape)}")
    for a in index_avals:
        if not dtypes.is_int(a.dtype):
            raise TypeError(f"Indexer must have integer type, got indexer with type {a.dtype.name}")
    b_shape = broadcast_shapes("gather indices", *(a.shape for a in index_avals)) if index_avals else ()
    if array_offset + len(b_shape) > out_rank:
        raise ValueError(f"gather: index shape {b_shape} at dim {array_offset} does not fit an output of rank {out_rank}")
    out = [1] * out_rank
    out[array_offset:array_offset + len(b_shape)] = b_shape
    for j, rule in enumerate(coords):
        if rule[0] == "slice":
            _, d, start, step, size = rule
            size = x_shape[j] if size is None else size
            if out[d] not in (1, size) and None not in (out[d], size):
                raise ValueError(f"gather: output dim {d} is both {out[d]} and {size} long")
            if out[d] == 1 or out[d] is None:
                out[d] = size
    return tuple(out)


def _output_sizes(out_shape, x, indices, index_avals, coords, array_offset):
    """The indexed shape as ints or index Values read off the operands."""
    b_rank = max((a.ndim for a in index_avals), default=0)
    x_sizes = mlir.dims(x)
    sizes = list(out_shape)
    for d, size in enumerate(out_shape):
        if size is not None:
            continue
        b = d - array_offset
        for v, a in zip(indices, index_avals):  # an index array that is not broadcast here
            i = b - (b_rank - a.ndim)
            if 0 <= b < b_rank and i >= 0 and a.shape[i] != 1:
                sizes[d] = tensor.DimOp(v, mlir.index(i)).result
                break
        else:  # a whole-axis slice
            j = next(j for j, r in enumerate(coords) if r[0] == "slice" and r[1] == d and r[4] is None)
            sizes[d] = x_sizes[j]
    return sizes


def _bound(i, dtype, n, mode, wrap):
    """An index array's value as an x index, with JAX's out-of-bounds rules
    on the n valid indices [0, n). Returns the index (always safe to read)
    and whether it was in bounds (None when the mode makes every index
    valid)."""
    idx_type = ir.IndexType.get()
    signed = not dtypes.is_unsigned(dtype)
    i = (arith.index_cast if signed else arith.index_castui)(idx_type, i)
    n = _index(n)
    zero = mlir.index(0)
    in_bounds = None
    if mode == "wrap":  # floor modulo: always in [0, n)
        r = arith.remsi(i, n)
        i = arith.select(cmpi("slt", r, zero), arith.addi(r, n), r)
    else:
        if wrap and signed:
            i = arith.select(cmpi("slt", i, zero), arith.addi(i, n), i)
        if mode != "clip":
            in_bounds = arith.andi(cmpi("sge", i, zero), cmpi("slt", i, n))
        i = arith.maxsi(zero, arith.minsi(i, arith.subi(n, mlir.index(1))))
    return i, in_bounds


def _coordinates(positions, x_sizes, index_values, index_avals, coords, mode, wrap):
    """x's coordinates at one output position (`positions`: one index Value per
    output dim), and whether every array index was in bounds (None: no check)."""
    out, ok = [], None
    for j, rule in enumerate(coords):
        if rule[0] == "slice":
            _, d, start, step, _ = rule
            i = positions[d]
            if step != 1:
                i = arith.muli(i, mlir.index(step))
            out.append(arith.addi(i, mlir.index(start)) if start else i)
        elif rule[0] == "int":
            out.append(mlir.index(rule[1]))
        else:
            k = rule[1]
            i, in_bounds = _bound(index_values[k], index_avals[k].dtype, x_sizes[j], mode, wrap)
            out.append(i)
            if in_bounds is not None:
                ok = in_bounds if ok is None else arith.andi(ok, in_bounds)
    return out, ok


def default_fill_value(dtype):
    """JAX's fill for out-of-bounds gathers: NaN (complex: NaN + 0j), the
    most negative signed integer, the largest unsigned one, True."""
    if dtypes.is_float(dtype):
        return np.nan
    if dtypes.is_complex(dtype):
        return complex(np.nan, 0.0)
    if dtypes.is_bool(dtype):
        return True
    info = np.iinfo(dtype)
    return info.max if dtypes.is_unsigned(dtype) else info.min


def _gather_eval(x, *indices, coords, out_rank, array_offset, mode, fill_value, wrap, ravel):
    if mode not in GATHER_MODES:
        raise ValueError(f'Unknown gather mode "{mode}"')
    x_shape = _operand_shape(x, ravel)
    shape = _indexed_shape(x_shape, indices, coords, out_rank, array_offset)
    if 0 not in shape and None not in shape:  # there is something to read, and nowhere to read it
        for j, rule in enumerate(coords):
            if rule[0] == "array" and x_shape[j] == 0:
                raise IndexError(f"index is out of bounds for axis {j} with size 0")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _gather_emit(ctx, x, *indices, coords, out_rank, array_offset, mode, fill_value, wrap, ravel):
    """One linalg.generic over the output; the index arrays are its inputs
    (broadcast like elementwise operands), x is read in its body."""
    x_aval, *index_avals = ctx.avals_in
    out = ctx.avals_out[0]
    x = materialized(x)
    if ravel:
        x = _flatten(x, x_aval)
    x_sizes = mlir.dims(x)
    sizes = _output_sizes(out.shape, x, indices, index_avals, coords, array_offset)
    inputs, maps = _index_inputs(indices, index_avals, out.shape, array_offset)
    fill = None
    if mode == "fill":
        fill = mlir.scalar_constant(default_fill_value(out.dtype) if fill_value is None else fill_value, out.dtype)
    x_constant = mlir.stop_gradient(x, reverse_only=True) if mode == "promise_in_bounds" else None

    def body(*scalars):
        positions = [linalg.IndexOp(d).result for d in range(out_rank)]
        at, ok = _coordinates(positions, x_sizes, scalars[:-1], index_avals, coords, mode, wrap)
        value = tensor.ExtractOp(x, at).result
        if ok is None:
            return [value]
        return [select(ok, value, fill if x_constant is None else tensor.ExtractOp(x_constant, at).result)]

    return mlir.generic(inputs, [mlir.empty(sizes, out.dtype)], maps + [list(range(out_rank))], [mlir.PARALLEL] * out_rank, body)


gather = Primitive("gather", _gather_eval, _gather_emit, dynamic_shapes=True)


def _scatter_eval(x, v, *indices, coords, out_rank, array_offset, op, dtype, mode, wrap):
    if mode not in SCATTER_MODES:
        raise ValueError(f'Unknown scatter mode "{mode}"')
    indexed = _indexed_shape(x.shape, indices, coords, out_rank, array_offset)
    check_update(op, dtype, v.shape, indexed)
    return x


def _flat_size(sizes):
    """The product of dimension sizes, as an index Value."""
    total = mlir.index(1)
    for size in sizes:
        total = arith.muli(total, _index(size))
    return total


def _linear_index(at, strides):
    """Row-major position of coordinates `at` (index Values) given `strides`."""
    total = mlir.index(0)
    for i, stride in zip(at, strides):
        total = arith.addi(total, arith.muli(i, stride))
    return total


def _flatten(value, aval):
    """`value` as a 1-D tensor (a 0-d one becomes (1,))."""
    if aval.ndim == 0:
        return reshape_units(value, (), (1,), aval.dtype)
    if aval.ndim == 1:
        return value
    flat = [None if None in aval.shape else aval.size]
    return tensor.CollapseShapeOp(mlir.tensor_type(flat, aval.dtype), value, mlir.reassociation([list(range(aval.ndim))])).result


def _unflatten(flat, aval, sizes):
    """The inverse of `_flatten`: `flat` in `aval`'s shape (`sizes` its dims)."""
    if aval.ndim == 0:
        return reshape_units(flat, (1,), (), aval.dtype)
    if aval.ndim == 1:
        return flat
    dynamic = [s for s in sizes if not isinstance(s, int)]
    static = [mlir.DYNAMIC() if d is None else d for d in aval.shape]
    return tensor.ExpandShapeOp(
        mlir.tensor_type(aval.shape, aval.dtype), flat, mlir.reassociation([list(range(aval.ndim))]), dynamic, static
    ).result


def _convert(value, aval, dtype):
    """`value` (of `aval`) converted elementwise to `dtype`."""
    ctx = EmitContext((aval,), (aval.update(dtype=dtype),))
    return emit_elementwise(ctx, value, body=lambda s: convert_scalar(aval.dtype, np.dtype(dtype), s))[0]


def _index_inputs(indices, index_avals, out_shape, array_offset):
    """The index arrays as inputs of a generic over `out_shape`, with their
    maps: broadcast like elementwise operands onto the dims of B."""
    b_rank = max((a.ndim for a in index_avals), default=0)
    b_out = out_shape[array_offset:array_offset + b_rank]
    inputs, maps = [], []
    for v, a in zip(indices, index_avals):
        collapsed, loop_dims = drop_broadcast_dims(v, a, b_out)
        inputs.append(collapsed)
        maps.append([array_offset + d for d in loop_dims])
    return inputs, maps


def _rows(flat, n):
    """A 1-D tensor of length n (int, or None when dynamic) as an (n, 1) column."""
    dynamic = [tensor.DimOp(flat, mlir.index(0)).result] if n is None else []
    typ = ir.RankedTensorType(flat.type)
    return tensor.ExpandShapeOp(
        ir.RankedTensorType.get([mlir.DYNAMIC() if n is None else n, 1], typ.element_type), flat,
        mlir.reassociation([[0, 1]]), dynamic, [mlir.DYNAMIC() if n is None else n, 1],
    ).result


def _scatter_emit(ctx, x, v, *indices, coords, out_rank, array_offset, op, dtype, mode, wrap):
    """IREE's own scatter op on x flattened to 1-D, with one spare element:

        targets[p] = row-major position in x of the element that update p goes
                     to, or the spare slot when it is out of bounds (drop mode)
        updates[p] = v broadcast to the indexed shape, in the compute dtype
        result     = (x ++ [spare]) with the updates applied in order, less the spare

    With unique_indices(false) IREE applies the updates one after another, so
    repeated indices accumulate (add) or the last one wins (set), as in JAX.
    The spare slot makes dropping well defined, and as the scatter writes a
    new, larger buffer, it never writes into x's. (Why IREE's op and not a
    loop: ir/iree.py.)"""
    x_aval, v_aval, *index_avals = ctx.avals_in
    compute = np.dtype(dtype)
    indexed = _indexed_shape(x_aval.shape, index_avals, coords, out_rank, array_offset)
    sizes = _output_sizes(indexed, x, indices, index_avals, coords, array_offset)
    x_sizes = mlir.dims(x)
    total = _flat_size(x_sizes)
    strides = [_flat_size(x_sizes[j + 1:]) for j in range(len(x_sizes))]
    loops = list(range(out_rank))
    parallel = [mlir.PARALLEL] * out_rank

    def target(*scalars):
        positions = [linalg.IndexOp(d).result for d in loops]
        at, ok = _coordinates(positions, x_sizes, scalars[:-1], index_avals, coords, _BOUNDS[mode], wrap)
        if mode == "clip":  # clamped indices are in bounds, unless the axis is empty
            for j in (j for j, rule in enumerate(coords) if rule[0] == "array"):
                nonempty = cmpi("sgt", _index(x_sizes[j]), mlir.index(0))
                ok = nonempty if ok is None else arith.andi(ok, nonempty)
        linear = _linear_index(at, strides)
        if ok is not None:
            linear = arith.select(ok, linear, total)
        return [arith.index_cast(ir.IntegerType.get_signless(64), linear)]

    inputs, maps = _index_inputs(indices, index_avals, indexed, array_offset)
    targets = mlir.generic(inputs, [mlir.empty(sizes, np.int64)], maps + [loops], parallel, target)[0]
    v_in, v_dims = drop_broadcast_dims(v, v_aval, indexed)
    updates = mlir.generic(
        [v_in], [mlir.empty(sizes, compute)], [v_dims, loops], parallel,
        lambda s, _: [convert_scalar(v_aval.dtype, compute, s)],
    )[0]
    n = None if None in indexed else int(np.prod(indexed, dtype=np.int64))
    updates = _flatten(updates, ShapedArray(indexed, compute))
    targets = _rows(_flatten(targets, ShapedArray(indexed, np.int64)), n)

    # Like JAX, scatter into x converted to the compute dtype, then convert
    # back: repeated int += 0.5 updates accumulate before truncating.
    wide = x_aval.update(dtype=compute)
    if compute != x_aval.dtype:
        x = _convert(x, x_aval, compute)
    flat_x = _flatten(x, wide)
    (n_x,) = mlir.dims(flat_x)
    spare = mlir.empty([n_x + 1 if isinstance(n_x, int) else arith.addi(n_x, mlir.index(1))], compute)
    n_dynamic, n_static = ([], [n_x]) if isinstance(n_x, int) else ([n_x], [mlir.DYNAMIC()])
    padded = tensor.InsertSliceOp(flat_x, spare, [], n_dynamic, [], [0], n_static, [1]).result
    result = linalg_ext_scatter(updates, targets, padded, combiner(op, compute, compute, compute))
    result = tensor.ExtractSliceOp(flat_x.type, result, [], n_dynamic, [], [0], n_static, [1]).result
    result = _unflatten(result, wide, x_sizes)
    return [result if compute == x_aval.dtype else _convert(result, wide, x_aval.dtype)]


scatter = Primitive("scatter", _scatter_eval, _scatter_emit, dynamic_shapes=True)
