"""`dot_general`: every contraction of two arrays, as `lax.dot_general`.

    dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))

    out[b..., i..., j...] = sum_k lhs[b, i, k] * rhs[b, j, k]

with the dims of each operand sorted into batch dims `b` (paired, kept),
contracting dims `k` (paired, summed over) and free dims (`i` of lhs, `j` of
rhs, kept). The output lists batch dims (in the order given), then the free
dims of lhs, then those of rhs, each in operand order. dot, matmul, inner,
outer, tensordot and einsum are all this op.

It is one `linalg.generic`: a loop per output dim (parallel) and one per
contracted pair (reduction); each operand's map sends its dims to their
loops, a projected permutation. The output starts as zeros (`linalg.fill`)
and the body accumulates `out + lhs * rhs` in the operand dtype, so int32
wraps around on overflow like XLA, bool is `out or (lhs and rhs)`, and
float16/bfloat16 accumulate in float32 and are rounded once at the end.
"""
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import BINARY
from irax.frontend.primitives.reductions import accumulator_dtype, cast, long_axis, monoid_fold, reduce_axes
from irax.ir import mlir
from irax.ir.scalar import convert_scalar


def _free_dims(ndim, contracting, batch):
    """The dims of an operand that are neither contracted nor batch, in order."""
    return tuple(d for d in range(ndim) if d not in contracting and d not in batch)


def _check_dimension_numbers(lhs, rhs, lc, rc, lb, rb):
    """lax.dot_general's checks, with its error messages."""
    for side, aval, c, b in (("lhs", lhs, lc, lb), ("rhs", rhs, rc, rb)):
        if not all(0 <= d < aval.ndim for d in c + b):
            raise TypeError(
                f"dot_general requires {side} dimension numbers to be nonnegative and less than the number "
                f"of axes of the {side} value, got {side}_batch of {b} and {side}_contracting of {c} "
                f"for {side} of rank {aval.ndim}"
            )
    if len(lb) != len(rb):
        raise TypeError(
            f"dot_general requires equal numbers of lhs_batch and rhs_batch dimensions, got lhs_batch {lb} and rhs_batch {rb}."
        )
    for side, kind, dims in (("lhs", "batch", lb), ("rhs", "batch", rb), ("lhs", "contracting", lc), ("rhs", "contracting", rc)):
        if len(set(dims)) != len(dims):
            raise TypeError(f"dot_general requires {side} {kind} dimensions to be distinct, got {side}_{kind} {dims}.")
    for side, c, b in (("lhs", lc, lb), ("rhs", rc, rb)):
        if set(c) & set(b):
            raise TypeError(
                f"dot_general requires {side} batch dimensions to be disjoint from contracting dimensions, "
                f"got {side}_batch {b} and {side}_contracting {c}."
            )
    # Dynamic (None) sizes only occur in eager kernels, whose operands were
    # checked with their real sizes first: None then matches None.
    for kind, l_dims, r_dims in (("lhs batch dimensions and rhs batch", lb, rb), ("contracting", lc, rc)):
        l_shape, r_shape = tuple(lhs.shape[d] for d in l_dims), tuple(rhs.shape[d] for d in r_dims)
        if l_shape != r_shape:
            raise TypeError(f"dot_general requires {kind} dimensions to have the same shape, got {l_shape} and {r_shape}.")


def _dot_general_eval(lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general requires operands of the same dtype, got {lhs.dtype.name} and {rhs.dtype.name}.")
    _check_dimension_numbers(lhs, rhs, lc, rc, lb, rb)
    shape = (
        [lhs.shape[d] for d in lb]
        + [lhs.shape[d] for d in _free_dims(lhs.ndim, lc, lb)]
        + [rhs.shape[d] for d in _free_dims(rhs.ndim, rc, rb)]
    )
    return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)


def _dot_general_emit(ctx, lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs_aval, rhs_aval = ctx.avals_in
    out = ctx.avals_out[0]
    lhs_free, rhs_free = _free_dims(lhs_aval.ndim, lc, lb), _free_dims(rhs_aval.ndim, rc, rb)
    # Loops: one per output dim (batch, lhs free, rhs free), then one per contracted pair.
    n_out, n_batch = out.ndim, len(lb)
    contracted = range(n_out, n_out + len(lc))
    lhs_loop = {**dict(zip(lb + lhs_free, range(n_out))), **dict(zip(lc, contracted))}
    rhs_loop = {**dict(zip(rb, range(n_batch))), **dict(zip(rhs_free, range(n_batch + len(lhs_free), n_out))),
                **dict(zip(rc, contracted))}
    maps = [[lhs_loop[d] for d in range(lhs_aval.ndim)], [rhs_loop[d] for d in range(rhs_aval.ndim)], list(range(n_out))]
    iterators = [mlir.PARALLEL] * n_out + [mlir.REDUCTION] * len(lc)

    lhs_sizes, rhs_sizes = mlir.dims(lhs), mlir.dims(rhs)
    sizes = [lhs_sizes[d] for d in lb + lhs_free] + [rhs_sizes[d] for d in rhs_free]
    dtype = out.dtype
    acc = accumulator_dtype("sum", dtype)
    add, mul = BINARY["add"], BINARY["mul"]  # on bool: or, and

    def multiply_add(a, b, total):
        a, b = convert_scalar(dtype, acc, a), convert_scalar(dtype, acc, b)
        return [add(acc, total, mul(acc, a, b))]

    if len(lc) == lhs_aval.ndim == rhs_aval.ndim == 1 and long_axis(lhs_sizes[0]):
        # A long vector dot: products, then their sum as a tree (see reductions.tree_reduce).
        mul_in_acc = lambda a, b, _: [mul(acc, convert_scalar(dtype, acc, a), convert_scalar(dtype, acc, b))]  # noqa: E731
        (products,) = mlir.generic([lhs, rhs], [mlir.empty(lhs_sizes, acc)], [[0], [0], [0]], [mlir.PARALLEL],
                                   mul_in_acc)
        (total,) = reduce_axes(products, (0,), *monoid_fold("sum", acc, acc), keepdims=False)
        return [cast(total, acc, dtype)]
    init = mlir.fill(mlir.scalar_constant(0, acc), sizes, acc)
    (total,) = mlir.generic([lhs, rhs], [init], maps, iterators, multiply_add)
    return [cast(total, acc, dtype)]


dot_general = Primitive("dot_general", _dot_general_eval, _dot_general_emit, dynamic_shapes=True)
