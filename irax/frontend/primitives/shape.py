"""Shape primitives: ops that move elements around without computing on them.

    reshape           row-major reshape              tensor.collapse_shape / expand_shape
    transpose         out[i_p0, i_p1, ...] = x[i]    linalg.transpose
    broadcast_in_dim  out[i] = x[i[dims]]            linalg.generic (unit dims collapsed)
    concatenate       along one axis                 tensor.concat
    split             pieces along one axis          tensor.extract_slice, one per piece
    rev               out[i] = x[n-1-i]              linalg.generic + tensor.extract
    take_axis         out[.., j, ..] = x[.., idx[j], ..]      idem
    pad               a constant border              tensor.concat of x and linalg.fill borders
    pad_extend        a border read from x itself    linalg.generic + tensor.extract

The gathers (rev, take_axis, pad_extend) read x with tensor.extract inside
the loop body, which autodiff must treat as a gather, not as elementwise.

Ops whose output shape follows from their operand shapes (all but reshape,
broadcast_in_dim and split) are compiled once per rank and unit-dim pattern
(`dynamic_shapes=True`): their emitters read sizes with `mlir.dims` and
their shape rules accept None for a dynamic dimension. The others are
compiled per shape.
"""
import math

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import drop_broadcast_dims
from irax.ir import mlir
from irax.ir.iree import materialized


# ---------------------------------------------------------------------------
# reshape

def _merge_groups(long, short):
    """Consecutive groups of `long`'s dims whose products are `short`'s dims,
    or None when `short` is not such a merge. Greedy: each group takes dims
    until its product is reached; trailing unit dims join the last group."""
    groups, i = [], 0
    for size in short:
        group, product = [], 1
        while i < len(long) and (not group or product < size):
            group.append(i)
            product *= long[i]
            i += 1
        if product != size or not group:  # (a unit dim of `short` with no dims of `long` left: no merge)
            return None
        groups.append(group)
    rest = list(range(i, len(long)))
    if any(long[j] != 1 for j in rest):
        return None
    if rest and groups:
        groups[-1].extend(rest)
    return groups


def _pure_reshape(x, in_shape, out_shape, dtype):
    """One collapse_shape or expand_shape, or None if the reshape is neither."""
    result = mlir.tensor_type(out_shape, dtype)
    if len(out_shape) < len(in_shape):
        groups = _merge_groups(in_shape, out_shape)
        return None if groups is None else tensor.CollapseShapeOp(result, x, mlir.reassociation(groups)).result
    if len(out_shape) > len(in_shape):
        groups = _merge_groups(out_shape, in_shape)
        if groups is None:
            return None
        return tensor.ExpandShapeOp(result, x, mlir.reassociation(groups), [], list(out_shape)).result
    return x if tuple(in_shape) == tuple(out_shape) else None


def _reshape_eval(x, *, new_shape):
    if math.prod(new_shape) != x.size:
        raise TypeError(
            f"cannot reshape array of shape {x.shape} (size {x.size}) into shape {new_shape} (size {math.prod(new_shape)})"
        )
    return x.update(shape=new_shape)


def _reshape_emit(ctx, x, *, new_shape):
    """Row-major reshape. Empty arrays hold no data: a fresh empty tensor.
    Otherwise a pure merge or split of dims, else flatten and split again."""
    (aval,) = ctx.avals_in
    if aval.size == 0:
        return [mlir.empty(new_shape, aval.dtype)]
    out = _pure_reshape(x, aval.shape, new_shape, aval.dtype)
    if out is None:
        flat = _pure_reshape(x, aval.shape, (aval.size,), aval.dtype)
        out = _pure_reshape(flat, (aval.size,), new_shape, aval.dtype)
    return [out]


reshape = Primitive("reshape", _reshape_eval, _reshape_emit)


# ---------------------------------------------------------------------------
# transpose

def _transpose_eval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(
            "transpose permutation isn't a permutation of operand dimensions, "
            f"got permutation {tuple(permutation)} for operand shape {x.shape}."
        )
    return x.update(shape=[x.shape[p] for p in permutation])


def _transpose_emit(ctx, x, *, permutation):
    sizes = mlir.dims(x)
    init = mlir.empty([sizes[p] for p in permutation], ctx.avals_in[0].dtype)
    return [linalg.transpose(x, outs=[init], permutation=list(permutation)).results[0]]


transpose = Primitive("transpose", _transpose_eval, _transpose_emit, dynamic_shapes=True)


# ---------------------------------------------------------------------------
# broadcast_in_dim: lax's broadcast, which numpy's broadcast_to, tile and
# repeat are built from.

def _broadcast_in_dim_eval(x, *, shape, broadcast_dimensions):
    """Operand dim i becomes output dim broadcast_dimensions[i] (increasing);
    it must have that dim's size or size 1."""
    ok = (
        len(broadcast_dimensions) == x.ndim
        and list(broadcast_dimensions) == sorted(set(broadcast_dimensions))
        and all(0 <= d < len(shape) for d in broadcast_dimensions)
        and all(x.shape[i] in (1, shape[d]) for i, d in enumerate(broadcast_dimensions))
        and all(d >= 0 for d in shape)
    )
    if not ok:
        raise ValueError(
            f"Incompatible types for broadcasting: input type={x.str_short()} and requested "
            f"type={x.dtype.name}[{','.join(map(str, shape))}] (broadcast_dimensions={tuple(broadcast_dimensions)})"
        )
    return x.update(shape=shape)


def _broadcast_in_dim_emit(ctx, x, *, shape, broadcast_dimensions):
    """A copy loop over the output; the unit dims of `x` that broadcast are
    collapsed away, so its indexing map stays a projected permutation."""
    (aval,) = ctx.avals_in
    target = [shape[d] for d in broadcast_dimensions]  # the output size each operand dim meets
    x, kept = drop_broadcast_dims(x, aval, target)
    init = mlir.empty(shape, aval.dtype)
    rank = len(shape)
    maps = [[broadcast_dimensions[i] for i in kept], list(range(rank))]
    return mlir.generic([x], [init], maps, [mlir.PARALLEL] * rank, lambda v, _: [v])


broadcast_in_dim = Primitive("broadcast_in_dim", _broadcast_in_dim_eval, _broadcast_in_dim_emit)


# ---------------------------------------------------------------------------
# concatenate and split

def _concatenate_eval(*xs, dimension):
    if len({x.dtype for x in xs}) != 1:
        raise TypeError(f"concatenate requires arguments to have the same dtypes, got {', '.join(x.dtype.name for x in xs)}.")
    shapes = ", ".join(str(x.shape) for x in xs)
    if len({x.ndim for x in xs}) != 1:
        raise TypeError(f"Cannot concatenate arrays with different numbers of dimensions: got {shapes}.")
    out = []
    for d, sizes in enumerate(zip(*(x.shape for x in xs))):
        if d == dimension:
            out.append(None if None in sizes else sum(sizes))
            continue
        known = {s for s in sizes if s is not None}
        if len(known) > 1:
            raise TypeError(
                "Cannot concatenate arrays with shapes that differ in dimensions other than the one being "
                f"concatenated: concatenating along dimension {dimension} for shapes {shapes}."
            )
        out.append(known.pop() if known else None)
    return ShapedArray(out, xs[0].dtype, all(x.weak_type for x in xs))


def _concatenate_emit(ctx, *xs, dimension):
    out = ctx.avals_out[0]
    # Pieces empty along `dimension` add nothing, and IREE's bufferization
    # refuses one that lands at the end of the result ("offset is out-of-bounds").
    kept = [x for x, aval in zip(xs, ctx.avals_in) if aval.shape[dimension] != 0] or list(xs[:1])
    return [tensor.ConcatOp(mlir.tensor_type(out.shape, out.dtype), dimension, kept).result]


concatenate = Primitive("concatenate", _concatenate_eval, _concatenate_emit, dynamic_shapes=True)


def _split_eval(x, *, sizes, axis):
    if min(sizes) < 0:
        raise ValueError(f"Sizes passed to split must be nonnegative, got {list(sizes)}")
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"split sizes {list(sizes)} do not add up to {x.shape[axis]}, the size of axis {axis}")
    return [x.update(shape=x.shape[:axis] + (s,) + x.shape[axis + 1:]) for s in sizes]


def _split_emit(ctx, x, *, sizes, axis):
    (aval,) = ctx.avals_in
    pieces, offset = [], 0
    for out, size in zip(ctx.avals_out, sizes):
        if out.size == 0:  # no data, and an offset at the end of x would not verify
            pieces.append(mlir.empty(out.shape, out.dtype))
        else:
            offsets = [offset if d == axis else 0 for d in range(aval.ndim)]
            slice_type = mlir.tensor_type(out.shape, out.dtype)
            pieces.append(tensor.ExtractSliceOp(slice_type, x, [], [], [], offsets, list(out.shape), [1] * aval.ndim).result)
        offset += size
    return pieces


split = Primitive("split", _split_eval, _split_emit, multiple_results=True)


# ---------------------------------------------------------------------------
# Ops that read x at computed indices: one loop over the output whose body
# extracts the element it needs (a gather; the loop's own maps stay identities).

def _generate(out_sizes, dtype, element, inputs=(), input_maps=()):
    """linalg.generic over `out_sizes` yielding element(index, *scalars), where
    `index` is the output position (index Values) and `scalars` are the
    elements of `inputs` read through `input_maps`."""
    rank = len(out_sizes)

    def body(*args):
        return [element([linalg.IndexOp(d).result for d in range(rank)], *args[:-1])]

    init = mlir.empty(out_sizes, dtype)
    return mlir.generic(list(inputs), [init], list(input_maps) + [list(range(rank))], [mlir.PARALLEL] * rank, body)


def _extract(x, index):
    return tensor.ExtractOp(x, index).result


def _as_index(n):
    """A size (int or index Value) as an index Value."""
    return mlir.index(n) if isinstance(n, int) else n


def _last(n):
    """n - 1 as an index Value."""
    return mlir.index(n - 1) if isinstance(n, int) else arith.subi(n, mlir.index(1))


def _rev_eval(x, *, dimensions):
    if len(set(dimensions)) != len(dimensions):
        raise TypeError(f"rev dimensions must be unique, got {tuple(dimensions)}.")
    return x


def _rev_emit(ctx, x, *, dimensions):
    """out[i] = x[j] with j_d = (n_d - 1) - i_d on the reversed dims.

    A reversed dim of static size reads its j_d from a constant loop input
    [n-1, ..., 0], as take_axis reads its indices: a loop with no input is
    one IREE fuses into a reduction over that dim as a reduction whose loop
    bound nothing defines ("indexing maps are non-invertible"), e.g.
    jit(lambda a: jnp.flip(a, 0).sum(0)) and jit(lambda a: inv(a).sum(0)).
    x is read materialized (ir/iree.py): jit(lambda k: jnp.flip(k[::2]))
    failed LLVM translation, a gather from a strided view."""
    x = materialized(x)
    sizes = mlir.dims(x)
    static = [d for d in dimensions if isinstance(sizes[d], int)]
    reversed_indices = [mlir.dense_constant(np.arange(sizes[d] - 1, -1, -1, dtype=np.int32)) for d in static]

    def element(index, *read):
        read = dict(zip(static, read))
        return _extract(x, [arith.index_cast(ir.IndexType.get(), read[d]) if d in read
                            else arith.subi(_last(sizes[d]), i) if d in dimensions else i
                            for d, i in enumerate(index)])

    return _generate(sizes, ctx.avals_in[0].dtype, element, reversed_indices, [[d] for d in static])


rev = Primitive("rev", _rev_eval, _rev_emit, dynamic_shapes=True)


def _take_axis_eval(x, indices, *, axis):
    if indices.ndim != 1 or not dtypes.is_int(indices.dtype):
        raise TypeError(f"take_axis indices must be a 1-D integer array, got {indices.str_short()}")
    return x.update(shape=x.shape[:axis] + indices.shape + x.shape[axis + 1:])


def _take_axis_emit(ctx, x, indices, *, axis):
    """out[..., j, ...] = x[..., indices[j], ...]: the index vector is a loop
    input read at output dim `axis`."""
    sizes = mlir.dims(x)
    sizes[axis] = mlir.dims(indices)[0]

    def element(index, i):
        index[axis] = arith.index_cast(ir.IndexType.get(), i)
        return _extract(x, index)

    return _generate(sizes, ctx.avals_in[0].dtype, element, [indices], [[axis]])


take_axis = Primitive("take_axis", _take_axis_eval, _take_axis_emit, dynamic_shapes=True)


# ---------------------------------------------------------------------------
# pad

def _padded_shape(shape, low, high):
    return [None if n is None else n + lo + hi for n, lo, hi in zip(shape, low, high)]


def _pad_eval(x, value, *, low, high):
    per_side = value.ndim == 2 and all(d in (want, None) for d, want in zip(value.shape, (x.ndim, 2)))
    if value.dtype != x.dtype or not (value.ndim == 0 or per_side):
        raise TypeError(f"pad value must be a scalar or (ndim, 2) array of dtype {x.dtype.name}, got {value.str_short()}")
    return x.update(shape=_padded_shape(x.shape, low, high))


def _pad_emit(ctx, x, value, *, low, high):
    """Along each padded dim d in turn: concat(border, x, border) with
    borders filled with `value` (0-d), or with value[d, 0] before and
    value[d, 1] after. Later dims cover the corners, as NumPy's padding one
    axis after the other does.

    Not tensor.pad: IREE 3.13 fails to compile a tensor.pad of a tensor.pad
    (of different values) of a linalg op, which jit-fused code would give.
    Nor x inserted into a broadcast of the value (one copy instead of one per
    padded dim, 1.8 -> 0.3 ms at 1024^2): that gave the eager gmres of
    tests/test_sparse_linalg.py a wrong solution, as 657cc41's insert into a
    fill failed IREE's compile."""
    x_aval, value_aval = ctx.avals_in
    shape, dtype = list(x_aval.shape), x_aval.dtype
    for d in range(x_aval.ndim):
        pieces = []
        for side, width in enumerate((low[d], high[d])):
            if width:
                sizes = mlir.dims(x)
                sizes[d] = width
                pieces.append(_border(value, None if value_aval.ndim == 0 else [d, side], sizes, dtype))
        if pieces:  # x goes between the borders, unless it is empty there (IREE rejects its 0-sized slice)
            if shape[d] != 0:
                pieces.insert(1 if low[d] else 0, x)
            shape[d] = None if shape[d] is None else shape[d] + low[d] + high[d]
            x = tensor.ConcatOp(mlir.tensor_type(shape, dtype), d, pieces).result if len(pieces) > 1 else pieces[0]
    return [x]


def _border(value, at, sizes, dtype):
    """A tensor of `sizes` holding value[at] (`value` itself where `at` is
    None), broadcast by a generic: autodiff differentiates that, where a
    fill of a scalar extracted from `value` was a constant to it (the
    derivative of a pad in its value was lost)."""
    if at is not None:
        value = tensor.ExtractSliceOp(mlir.tensor_type([], dtype), value, [], [], [], at, [1, 1], [1, 1]).result
    rank = len(sizes)
    return mlir.generic([value], [mlir.empty(sizes, dtype)], [[], list(range(rank))], [mlir.PARALLEL] * rank,
                        lambda v, _: [v])[0]


pad = Primitive("pad", _pad_eval, _pad_emit, dynamic_shapes=True)


def _padded_sizes(x, low, high):
    return [n + lo + hi if isinstance(n, int) else arith.addi(n, mlir.index(lo + hi))
            for n, lo, hi in zip(mlir.dims(x), low, high)]


def _mod(a, n):
    """a mod n with the sign of n (a may be negative)."""
    return arith.remsi(arith.addi(arith.remsi(a, n), n), n)


def _reflect(s, n, extra):
    """Mirror s into [0, n) with period 2n - 2 ('reflect', edge not repeated,
    extra = 0) or 2n ('symmetric', extra = 1): r = min(m, period - extra - m)."""
    period = arith.subi(arith.muli(n, mlir.index(2)), mlir.index(2 - 2 * extra))
    m = _mod(s, period)
    return arith.minsi(m, arith.subi(arith.subi(period, mlir.index(extra)), m))


# mode -> source index along a padded dim, from s = i - low (which may lie
# outside [0, n)) and the dim size n; unit dims (n == 1) always read 0.
PAD_MODES = {
    "edge": lambda s, n: arith.maxsi(arith.minsi(s, _last(n)), mlir.index(0)),
    "wrap": _mod,
    "reflect": lambda s, n: _reflect(s, n, 0),
    "symmetric": lambda s, n: _reflect(s, n, 1),
}


def _pad_extend_eval(x, *, low, high, mode):
    if mode not in PAD_MODES:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    for d, n in enumerate(x.shape):
        if n == 0 and low[d] + high[d] > 0:
            raise ValueError(f"Cannot apply '{mode}' padding to empty axis")
    return x.update(shape=_padded_shape(x.shape, low, high))


def _pad_extend_emit(ctx, x, *, low, high, mode):
    """Pad by reading x itself: out[i] = x[j], j_d = PAD_MODES[mode](i_d - low_d, n_d)."""
    sizes = mlir.dims(x)

    def source(i, n, lo, hi):
        if lo == hi == 0:
            return i
        if n == 1:
            return mlir.index(0)
        return PAD_MODES[mode](arith.subi(i, mlir.index(lo)), _as_index(n))

    def element(index):
        return _extract(x, [source(*args) for args in zip(index, sizes, low, high)])

    return _generate(_padded_sizes(x, low, high), ctx.avals_in[0].dtype, element)


pad_extend = Primitive("pad_extend", _pad_extend_eval, _pad_extend_emit, dynamic_shapes=True)
