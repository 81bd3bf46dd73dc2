"""Reductions, arg-reductions and scans: loops that carry a value along axes.

Every reduction folds an associative operation with an identity over some
axes. One table says which (the scalar `combine` is the elementwise binary
rule of that name, so bools sum with `or` as in NumPy):

    sum   add  0        prod  mul  1        and  and  True
    max   max  lowest   min   min  highest  or   or   False

where lowest/highest are -inf/+inf for floats and the dtype's limits for
integers and bool. Each is one `linalg.generic` whose loop nest is the
operand's; reduced dims are `reduction` iterators the output's map skips,
and the output starts filled with the identity:

    out[i, k] = combine(out[i, k], x[i, j, k])       x: (i, j, k), axes=(1,)

keepdims re-inserts the reduced axes as unit dims with `tensor.expand_shape`,
so that one eager kernel still serves every size. Each primitive takes the
result `dtype`: elements are converted on their way into the accumulator, in
the same loop (sum of int8 into int32, all of floats into bool), and
float16/bfloat16 sums and products accumulate in float32, rounded once at
the end (as XLA does). max and min are exact in any dtype, and
`arith.maximumf`/`minimumf` propagate NaN like NumPy.

argmax/argmin carry a (value, index) pair, ordered by value with NaN above
everything (NumPy returns the first NaN), ties broken by the smaller index.
That order makes the combine associative and commutative, so the result is
the first occurrence whatever order the loop visits the elements in.

cumsum/cumprod are a Hillis-Steele scan: after step k every element holds
the combination of the 2**k elements ending at it,

    y <- combine(shift(y, s), y)      s = 1, 2, 4, ... while s < n

where `shift` pads with the identity at the front (`tensor.pad` of a
`tensor.extract_slice`). That is ceil(log2 n) parallel passes, ~20 for a
million elements (about 13 ms on one CPU core; O(n log n) work, but a
sequential `scf.for` of tensor.extract/insert runs on IREE's host side and
took 6 s for 1e5 elements). When n is static (traced code) the steps are
unrolled into plain slices and generics; in eager kernels n is only known at
run time, so the steps run in an `scf.while`.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, scf, tensor

from irax.frontend import dtypes, mlir
from irax.frontend.core import Primitive, ShapedArray
from irax.frontend.primitives.elementwise import BINARY, convert_scalar, cmpf, cmpi


def _lowest(dtype):
    if dtypes.is_float(dtype):
        return -np.inf
    return False if dtypes.is_bool(dtype) else np.iinfo(dtype).min


def _highest(dtype):
    if dtypes.is_float(dtype):
        return np.inf
    return True if dtypes.is_bool(dtype) else np.iinfo(dtype).max


# monoid -> (elementwise rule that combines two scalars, identity of a dtype)
MONOIDS = {
    "sum": ("add", lambda dtype: 0),
    "prod": ("mul", lambda dtype: 1),
    "max": ("max", _lowest),
    "min": ("min", _highest),
    "and": ("and", lambda dtype: True),
    "or": ("or", lambda dtype: False),
}
_BOOL_ONLY = {"and", "or"}
_HALF = (dtypes.float16, dtypes.bfloat16)


def accumulator_dtype(monoid, dtype):
    """float32 for half-precision sums and products, else `dtype` itself."""
    return dtypes.float32 if monoid in ("sum", "prod") and dtype in _HALF else dtype


def _result_dtype(name, monoid, dtype):
    dtype = np.dtype(dtype)
    if monoid in _BOOL_ONLY and not dtypes.is_bool(dtype):
        raise TypeError(f"{name} produces booleans, got dtype={dtype.name}")
    return dtype


def _check_axes(name, axes, ndim):
    if tuple(sorted(set(axes))) != tuple(axes) or any(not 0 <= a < ndim for a in axes):
        raise ValueError(f"{name}: axes must be sorted, distinct and in range(0, {ndim}); got {axes}")


def _kept_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


# ---------------------------------------------------------------------------
# Small emitter helpers. Sizes are ints (static) or index Values (dynamic).

def _mixed(sizes):
    """(dynamic Values, static list with DYNAMIC markers) of int-or-Value sizes."""
    return [s for s in sizes if not isinstance(s, int)], [s if isinstance(s, int) else mlir.DYNAMIC() for s in sizes]


def _as_index(size):
    return mlir.index(size) if isinstance(size, int) else size


def _map(value, dtype, fn):
    """`fn` applied to every element of `value`; the result has `dtype`."""
    rank = ir.RankedTensorType(value.type).rank
    out = mlir.empty(mlir.dims(value), dtype)
    return mlir.generic([value], [out], [list(range(rank))] * 2, [mlir.PARALLEL] * rank, lambda x, _: [fn(x)])[0]


def cast(value, src, dst):
    return value if src == dst else _map(value, dst, lambda x: convert_scalar(src, dst, x))


def _insert_unit_dims(value, axes, dtype):
    """`value` with unit dims inserted so that they sit at `axes` of the result.
    Each inserted dim joins the group of the next kept dim (the last one's
    when it trails); a rank-0 value expands with no groups at all."""
    sizes = mlir.dims(value)
    rank = len(sizes) + len(axes)
    out_sizes, groups, pending, kept = [], [], [], iter(sizes)
    for i in range(rank):
        pending.append(i)
        out_sizes.append(1 if i in axes else next(kept))
        if i not in axes:
            groups.append(pending)
            pending = []
    if pending and groups:
        groups[-1].extend(pending)
    dynamic, static = _mixed(out_sizes)
    result = ir.RankedTensorType.get(static, mlir.element_type(dtype))
    return tensor.ExpandShapeOp(result, value, mlir.reassociation(groups), dynamic, static).result


def _flatten(value, aval):
    """`value` as a rank-1 tensor in row-major order."""
    typ = mlir.tensor_type([_flat_size(aval.shape)], aval.dtype)
    if aval.ndim == 0:
        return tensor.ExpandShapeOp(typ, value, mlir.reassociation([]), [], [1]).result
    return tensor.CollapseShapeOp(typ, value, mlir.reassociation([list(range(aval.ndim))])).result


def _flat_size(shape):
    return None if None in shape else int(np.prod(shape, dtype=np.int64))


# ---------------------------------------------------------------------------
# reduce_sum, reduce_prod, reduce_max, reduce_min, reduce_and, reduce_or

def _reduce_eval(monoid):
    def abstract_eval(x, *, axes, keepdims, dtype):
        dtype = _result_dtype(f"reduce_{monoid}", monoid, dtype)
        _check_axes(f"reduce_{monoid}", axes, x.ndim)
        return ShapedArray(_kept_shape(x.shape, axes, keepdims), dtype)  # strong, as jnp reductions are

    return abstract_eval


def _reduce_emit(monoid):
    rule, identity = MONOIDS[monoid]

    def emit(ctx, x, *, axes, keepdims, dtype):
        x_dtype, dtype = ctx.avals_in[0].dtype, np.dtype(dtype)
        acc = accumulator_dtype(monoid, dtype)
        rank = ctx.avals_in[0].ndim
        kept = [i for i in range(rank) if i not in axes]
        sizes = mlir.dims(x)
        init = mlir.fill(mlir.scalar_constant(identity(acc), acc), [sizes[i] for i in kept], acc)
        body = lambda v, total: [BINARY[rule](acc, total, convert_scalar(x_dtype, acc, v))]
        if rank - 1 in axes and long_axis(sizes[-1]) and _worth_blocking(monoid, acc, kept):
            out = blocked_reduction(x, x_dtype, sizes, kept, axes, acc, body, monoid)
        elif monoid == "sum" and not kept and rank > 1:
            # IREE 3.13 fails to vectorize a sum to 0-d fused with a product whose
            # operand is broadcast along rows, sum(x * w[None, :]) ("vector.contract
            # op invalid accumulator/result vector shape"): sum the rows first.
            rows_init = mlir.fill(mlir.scalar_constant(identity(acc), acc), sizes[:-1], acc)
            (rows,) = mlir.generic([x], [rows_init], [list(range(rank)), list(range(rank - 1))],
                                   [mlir.PARALLEL] * (rank - 1) + [mlir.REDUCTION], body)
            (out,) = mlir.generic([rows], [init], [list(range(rank - 1)), []], [mlir.REDUCTION] * (rank - 1),
                                  lambda v, total: [BINARY[rule](acc, total, v)])
        else:
            iterators = [mlir.REDUCTION if i in axes else mlir.PARALLEL for i in range(rank)]
            (out,) = mlir.generic([x], [init], [list(range(rank)), kept], iterators, body)
        out = cast(out, acc, dtype)
        return [_insert_unit_dims(out, axes, dtype) if keepdims and axes else out]

    return emit


# Lanes of a blocked reduction: parallel partial results. IREE's CPU backend
# also shares the lanes among its threads: with 64 a 1e7 sum ran on one (2.5 ms
# on 2 cores), with 128 on two (1.4 ms; a dot 6.1 -> 3.5 ms); 256 was slower again.
LANES = 128


def long_axis(size) -> bool:
    """Whether a reduced trailing axis is worth blocking: always when its size
    is only known at run time (eager kernels serve every size)."""
    return not isinstance(size, int) or size > 4 * LANES


def _worth_blocking(monoid, acc, kept) -> bool:
    """Float reductions only: integer and boolean ones vectorize well as they
    are (1e7 int32 on 2 cores, blocked: sum 1.1 -> 1.4 ms, any 5.6 -> 10.8).
    Float sums always (exactness and latency, see blocked_reduction); the
    other float monoids when they reduce to one value, which one accumulator
    computes on one thread (prod 8.5 -> 1.1 ms; max eager 7.5 -> 4.0); with
    kept axes their rows already share the threads (a max over (100, 1e5)
    by rows went 1.1 -> 4.3 ms blocked)."""
    return dtypes.is_float(acc) and (monoid == "sum" or not kept)


def blocked_reduction(x, x_dtype, sizes, kept, axes, acc, body, monoid):
    """A reduction whose reduced axes include the last one, as LANES partial results.

    One accumulator would be a chain of n dependent steps: latency-bound (a
    1e7 float sum took 13 ms), run by one thread, and for float sums inexact
    (0.75% low on integers once the sum passes 2^24). Instead the last axis
    is padded with the monoid's identity to a multiple of LANES and split into
    (M, LANES); the first generic reduces M (and the other reduced axes) into
    LANES independent accumulators, which the vectorizer keeps in registers
    and IREE shares among threads; the second combines the lanes.
    """
    rule, identity = MONOIDS[monoid]
    rank = len(sizes)
    n = sizes[-1]
    if isinstance(n, int):
        pad = (-n) % LANES
        high, static_high = [], [0] * (rank - 1) + [pad]
        blocks = (n + pad) // LANES
    else:
        lanes = mlir.index(LANES)
        pad_value = arith.remui(arith.subi(lanes, arith.remui(n, lanes)), lanes)
        high, static_high = [pad_value], [0] * (rank - 1) + [mlir.DYNAMIC()]
        blocks = arith.divui(arith.addi(n, pad_value), lanes)
    x_type = ir.RankedTensorType(x.type)
    if static_high[-1] != 0:
        padded_shape = list(x_type.shape[:-1]) + [mlir.DYNAMIC() if high else n + static_high[-1]]
        pad = tensor.PadOp(ir.RankedTensorType.get(padded_shape, x_type.element_type), x, [], high,
                           [0] * rank, static_high)
        block = pad.regions[0].blocks.append(*[ir.IndexType.get()] * rank)
        with ir.InsertionPoint(block):
            tensor.YieldOp(mlir.scalar_constant(identity(x_dtype), x_dtype))
        x = pad.result
    split_shape = list(x_type.shape[:-1]) + [blocks if isinstance(blocks, int) else mlir.DYNAMIC(), LANES]
    dynamic = [d for d in sizes[:-1] if not isinstance(d, int)] + ([] if isinstance(blocks, int) else [blocks])
    x = tensor.ExpandShapeOp(ir.RankedTensorType.get(split_shape, x_type.element_type), x,
                             mlir.reassociation([[i] for i in range(rank - 1)] + [[rank - 1, rank]]),
                             dynamic, split_shape).result
    start = mlir.scalar_constant(identity(acc), acc)
    lanes_out = kept + [rank]
    partial_init = mlir.fill(start, [sizes[i] for i in kept] + [LANES], acc)
    iterators = [mlir.REDUCTION if i in axes else mlir.PARALLEL for i in range(rank)] + [mlir.PARALLEL]
    (partial,) = mlir.generic([x], [partial_init], [list(range(rank + 1)), lanes_out], iterators, body)
    init = mlir.fill(start, [sizes[i] for i in kept], acc)
    combine = lambda v, total: [BINARY[rule](acc, total, v)]  # noqa: E731
    n_kept = len(kept)
    return mlir.generic([partial], [init], [list(range(n_kept + 1)), list(range(n_kept))],
                        [mlir.PARALLEL] * n_kept + [mlir.REDUCTION], combine)[0]


reduce = {
    m: Primitive(f"reduce_{m}", _reduce_eval(m), _reduce_emit(m), dynamic_shapes=True) for m in MONOIDS
}


# ---------------------------------------------------------------------------
# argmax, argmin

def _order(dtype, greater):
    """(beats, ties) on scalars of `dtype` for argmax (`greater`) or argmin.
    NaN beats every number and ties with NaN, as in NumPy."""
    if dtypes.is_float(dtype):
        unordered_or = "ugt" if greater else "ult"

        def beats(x, best):
            # x > best, or x is NaN; but nothing beats a NaN already found
            return arith.andi(cmpf(unordered_or, x, best), cmpf("ord", best, best))

        def ties(x, best):
            both_nan = arith.andi(cmpf("uno", x, x), cmpf("uno", best, best))
            return arith.ori(cmpf("oeq", x, best), both_nan)

        return beats, ties
    signed = dtypes.is_int(dtype) and not dtypes.is_unsigned(dtype)
    predicate = ("s" if signed else "u") + ("gt" if greater else "lt")
    return (lambda x, best: cmpi(predicate, x, best)), (lambda x, best: cmpi("eq", x, best))


def _row_major_index(axes, sizes, index_type):
    """The position among the reduced elements, as if their axes were
    flattened: sum of linalg.index(axis) * stride(axis)."""
    position, stride = mlir.index(0), mlir.index(1)
    for axis in reversed(axes):
        position = arith.addi(position, arith.muli(linalg.IndexOp(axis).result, stride))
        stride = arith.muli(stride, _as_index(sizes[axis]))
    return arith.index_cast(index_type, position)


def _arg_eval(name):
    def abstract_eval(x, *, axes, keepdims, index_dtype):
        _check_axes(name, axes, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"attempt to get {name} of an empty sequence")
        return ShapedArray(_kept_shape(x.shape, axes, keepdims), index_dtype)

    return abstract_eval


def _arg_emit(greater):
    def emit(ctx, x, *, axes, keepdims, index_dtype):
        dtype = ctx.avals_in[0].dtype
        rank = ctx.avals_in[0].ndim
        kept = [i for i in range(rank) if i not in axes]
        sizes = mlir.dims(x)
        out_sizes = [sizes[i] for i in kept]
        worst = _lowest(dtype) if greater else _highest(dtype)
        best_init = mlir.fill(mlir.scalar_constant(worst, dtype), out_sizes, dtype)
        index_init = mlir.fill(mlir.scalar_constant(np.iinfo(index_dtype).max, index_dtype), out_sizes, index_dtype)
        beats, ties = _order(dtype, greater)
        index_type = mlir.element_type(index_dtype)

        def body(v, best, best_index):
            index = _row_major_index(axes, sizes, index_type)
            earlier = cmpi("slt", index, best_index)
            take = arith.ori(beats(v, best), arith.andi(ties(v, best), earlier))
            return [arith.select(take, v, best), arith.select(take, index, best_index)]

        iterators = [mlir.REDUCTION if i in axes else mlir.PARALLEL for i in range(rank)]
        _, out = mlir.generic([x], [best_init, index_init], [list(range(rank)), kept, kept], iterators, body)
        return [_insert_unit_dims(out, axes, index_dtype) if keepdims and axes else out]

    return emit


argmax = Primitive("argmax", _arg_eval("argmax"), _arg_emit(greater=True), dynamic_shapes=True)
argmin = Primitive("argmin", _arg_eval("argmin"), _arg_emit(greater=False), dynamic_shapes=True)


# ---------------------------------------------------------------------------
# cumsum, cumprod

def _shift(y, axis, s, fill, dtype):
    """y moved `s` places along `axis`, the vacated front filled with `fill`:
    pad(y[..., :n-s, ...], low=s). `s` is an int or an index Value."""
    sizes = mlir.dims(y)
    n, rank = sizes[axis], len(sizes)
    head = n - s if isinstance(n, int) and isinstance(s, int) else arith.subi(_as_index(n), _as_index(s))
    dynamic_sizes, static_sizes = _mixed(sizes[:axis] + [head] + sizes[axis + 1:])
    head_type = ir.RankedTensorType.get(static_sizes, mlir.element_type(dtype))
    sliced = tensor.ExtractSliceOp(head_type, y, [], dynamic_sizes, [], [0] * rank, static_sizes, [1] * rank).result
    dynamic_low, static_low = _mixed([0] * axis + [s] + [0] * (rank - axis - 1))
    pad = tensor.PadOp(y.type, sliced, dynamic_low, [], static_low, [0] * rank)
    block = pad.regions[0].blocks.append(*[ir.IndexType.get()] * rank)
    with ir.InsertionPoint(block):
        tensor.YieldOp(fill)
    return pad.result


def _scan(y, axis, monoid, dtype):
    """Hillis-Steele inclusive scan of `y` along `axis`."""
    rule, identity = MONOIDS[monoid]
    fill = mlir.scalar_constant(identity(dtype), dtype)
    rank = ir.RankedTensorType(y.type).rank

    def step(y, s):
        shifted = _shift(y, axis, s, fill, dtype)
        body = lambda before, here, _: [BINARY[rule](dtype, before, here)]
        out = mlir.empty(mlir.dims(y), dtype)
        return mlir.generic([shifted, y], [out], [list(range(rank))] * 3, [mlir.PARALLEL] * rank, body)[0]

    n = mlir.dims(y)[axis]
    if isinstance(n, int):
        s = 1
        while s < n:
            y = step(y, s)
            s *= 2
        return y
    loop = scf.WhileOp([y.type, ir.IndexType.get()], [y, mlir.index(1)])
    before = loop.before.blocks.append(y.type, ir.IndexType.get())
    with ir.InsertionPoint(before):
        scf.ConditionOp(cmpi("slt", before.arguments[1], n), list(before.arguments))
    after = loop.after.blocks.append(y.type, ir.IndexType.get())
    with ir.InsertionPoint(after):
        y_k, s = after.arguments
        scf.YieldOp([step(y_k, s), arith.muli(s, mlir.index(2))])
    return loop.results[0]


def _cumulative_eval(monoid):
    def abstract_eval(x, *, axis, dtype):
        dtype = _result_dtype(f"cum{monoid}", monoid, dtype)
        if axis is None:
            return ShapedArray((_flat_size(x.shape),), dtype)
        _check_axes(f"cum{monoid}", (axis,), x.ndim)
        return ShapedArray(x.shape, dtype)

    return abstract_eval


def _cumulative_emit(monoid):
    def emit(ctx, x, *, axis, dtype):
        x_dtype, dtype = ctx.avals_in[0].dtype, np.dtype(dtype)
        if axis is None:
            x, axis = _flatten(x, ctx.avals_in[0]), 0
        acc = accumulator_dtype(monoid, dtype)
        return [cast(_scan(cast(x, x_dtype, acc), axis, monoid, acc), acc, dtype)]

    return emit


cumulative = {
    m: Primitive(f"cum{m}", _cumulative_eval(m), _cumulative_emit(m), dynamic_shapes=True)
    for m in ("sum", "prod")
}


# ---------------------------------------------------------------------------
# one_hot: the inverse of argmax, an index turned back into an axis

def _one_hot_eval(x, *, num_classes, axis, dtype):
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for an output of dimension {x.ndim + 1}")
    shape = list(x.shape)
    shape.insert(axis, num_classes)
    return ShapedArray(shape, dtype)


def _one_hot_emit(ctx, x, *, num_classes, axis, dtype):
    """out[..., c, ...] = (x[...] == c): the class is the loop index of `axis`,
    compared in index space (x widened) or, for float x, as a float."""
    x_dtype = ctx.avals_in[0].dtype
    rank = ctx.avals_in[0].ndim + 1
    sizes = mlir.dims(x)
    sizes.insert(axis, num_classes)
    index_type = ir.IndexType.get()

    def body(v, _):
        c = linalg.IndexOp(axis).result
        if dtypes.is_float(x_dtype):
            c = arith.uitofp(v.type, arith.index_castui(ir.IntegerType.get_signless(64), c))
            hit = cmpf("oeq", v, c)
        else:
            signed = dtypes.is_int(x_dtype) and not dtypes.is_unsigned(x_dtype)
            hit = cmpi("eq", (arith.index_cast if signed else arith.index_castui)(index_type, v), c)
        return [convert_scalar(dtypes.bool_, np.dtype(dtype), hit)]

    loops = list(range(rank))
    maps = [[d for d in loops if d != axis], loops]
    return mlir.generic([x], [mlir.empty(sizes, dtype)], maps, [mlir.PARALLEL] * rank, body)


one_hot = Primitive("one_hot", _one_hot_eval, _one_hot_emit, dynamic_shapes=True)
