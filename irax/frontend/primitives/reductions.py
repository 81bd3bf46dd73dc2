"""Reductions and arg-reductions: loops that carry a value along axes.

Every reduction folds an associative operation with an identity over some
axes. One table says which (the scalar `combine` is the elementwise binary
rule of that name, so bools sum with `or` as in NumPy):

    sum   add  0        prod  mul  1        and  and  True
    max   max  lowest   min   min  highest  or   or   False

where lowest/highest are -inf/+inf for floats and the dtype's limits for
integers and bool. A `linalg.generic` with a `reduction` iterator that the
output's map skips is the fold; its output starts at the identity:

    out[i, k] = combine(out[i, k], x[i, j, k])       x: (i, j, k), axes=(1,)

No loop may run over the whole reduced extent: a GPU thread runs one output
element's loop, and lavapipe silently stops a shader loop after 65 535
iterations (a sum of 1e6 ones came out 65535). So the reduction is a tree of
stages. Runs of adjacent reduced dims and of kept dims are first collapsed
(a reshape, no copy): x is (..., n, ...), several runs being reduced one
after the other, the last first. A stage splits n into G = n // C blocks of
C <= BLOCK elements and folds each block into a partial result:

    x[..., n, ...] -> blocks[..., G, C, ...] -> partials[..., G, ...]

(with static sizes the view is (C, G), each block a column, so that the G
partials are the lanes of vector code; for a last axis of STATIC_ABOVE
elements or more it is (G / 64, C, 64), contiguous chunks of rows of 64
lanes, which the CPU reads twice as fast), and folds the T = n - G*C elements left over into the running totals (the
output, which starts at the identity); the next stage reduces the G partials
PARTIALS at a time, until one block is left, which the last generic folds
into the totals. No loop runs more than BLOCK = 1024 times, whatever n, and
float sums are as accurate as pairwise summation in blocks (partials of 1024,
then of 64). With static sizes (traced code) the stages are unrolled and C
divides n where it can (a slice of the input is a copy in IREE); in eager
kernels of arrays under STATIC_ABOVE elements n is only known at run time: an `scf.if` on n folds
n <= BLOCK elements in one generic (one dispatch: a small eager sum's kernel
6.8 -> 4.1 us a call, where three dispatches and the loop's test ran), more
in one stage, then an `scf.while` of stages while more than PARTIALS
partials are left. The leftover is read as
its last T + 1 elements with the first masked: never an empty tensor, which
Vulkan cannot bind. keepdims re-inserts the reduced axes as unit dims with
`tensor.expand_shape`, so that one eager kernel still serves every size.

Each primitive takes the result `dtype`: elements are converted on their way
into the accumulator, in the first stage's loop (sum of int8 into int32, all
of floats into bool), and float16/bfloat16 sums and products accumulate in
float32, rounded once at the end (as XLA does). max and min are exact in any
dtype, and `arith.maximumf`/`minimumf` propagate NaN like NumPy. Complex
max and min fold JAX's lexicographic max (by the real parts, then the
imaginary ones; a NaN compares false, so it does not propagate), in a form
autodiff can differentiate (`_complex_chooser`).

argmax/argmin carry a (value, index) pair through the same tree, ordered by
value with NaN above everything (NumPy returns the first NaN), ties broken
by the smaller index. That order makes the combine associative and
commutative, so the result is the first occurrence whatever order the
stages visit the elements in. The index is the position along the reduced
extent, whose axes must be adjacent (one axis, or all: the flattened array).

The scans (cumsum, cumprod) are in scans.py, one_hot in one_hot.py.
"""
import operator
from typing import Callable, NamedTuple

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, scf, tensor

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.scalar_rules import BINARY, UNARY
from irax.ir import mlir
from irax.ir.iree import opaque
from irax.ir.scalar import cmpf, cmpi, convert_scalar, select
from irax.ir.scalar import parts as scalar_parts
from irax.transforms.ad.generic import STOP_GRADIENT


def _lowest(dtype):
    if dtypes.is_inexact(dtype):  # complex: -inf + 0j, JAX's identity of a complex max
        return -np.inf
    return False if dtypes.is_bool(dtype) else np.iinfo(dtype).min


def _highest(dtype):
    if dtypes.is_inexact(dtype):
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
    """float32 for half-precision sums and products and for every fold of the 8-
    and 4-bit floats (their i8 bits order nothing; max and min are exact in
    float32, sums accumulate there as XLA's do), else `dtype` itself."""
    if dtypes.is_bit_float(dtype):
        return dtypes.float32
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


def _expand(value, groups, sizes):
    """`value` reshaped to `sizes` (ints or index Values), its dim i
    becoming the dims in groups[i]."""
    dynamic, static = _mixed(sizes)
    result = ir.RankedTensorType.get(static, ir.RankedTensorType(value.type).element_type)
    return tensor.ExpandShapeOp(result, value, mlir.reassociation(groups), dynamic, static).result


def _insert_unit_dims(value, axes):
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
    return _expand(value, groups, out_sizes)


def _split(x, axis, outer, inner):
    """`x` with dim `axis` split into (outer, inner)."""
    sizes = mlir.dims(x)
    groups = [[i] for i in range(axis)] + [[axis, axis + 1]] + [[i + 1] for i in range(axis + 1, len(sizes))]
    return _expand(x, groups, sizes[:axis] + [outer, inner] + sizes[axis + 1:])


def _slice(x, axis, start, size):
    """x[..., start:start + size, ...], the slice along `axis`."""
    sizes = mlir.dims(x)
    if isinstance(start, int) and start == 0 and isinstance(size, int) and size == sizes[axis]:
        return x
    rank = len(sizes)
    dynamic_offsets, static_offsets = _mixed([0] * axis + [start] + [0] * (rank - axis - 1))
    dynamic_sizes, static_sizes = _mixed(sizes[:axis] + [size] + sizes[axis + 1:])
    result = ir.RankedTensorType.get(static_sizes, ir.RankedTensorType(x.type).element_type)
    return tensor.ExtractSliceOp(result, x, dynamic_offsets, dynamic_sizes, [], static_offsets, static_sizes,
                                 [1] * rank).result


def _drop_last_unit(value):
    """`value` without its last dim, of size 1."""
    sizes = mlir.dims(value)
    groups = [[i] for i in range(len(sizes) - 2)] + [[len(sizes) - 2, len(sizes) - 1]] if len(sizes) > 1 else []
    _, static = _mixed(sizes[:-1])
    result = ir.RankedTensorType.get(static, ir.RankedTensorType(value.type).element_type)
    return tensor.CollapseShapeOp(result, value, mlir.reassociation(groups)).result


def _merge_last(value):
    """`value` (static sizes) with its last two dims merged into one."""
    sizes = mlir.dims(value)
    groups = [[i] for i in range(len(sizes) - 2)] + [[len(sizes) - 2, len(sizes) - 1]]
    result = ir.RankedTensorType.get(sizes[:-2] + [sizes[-2] * sizes[-1]], ir.RankedTensorType(value.type).element_type)
    return tensor.CollapseShapeOp(result, value, mlir.reassociation(groups)).result


def _flat_size(shape):
    return None if None in shape else int(np.prod(shape, dtype=np.int64))


# ---------------------------------------------------------------------------
# The reduction tree

# Elements one thread folds in a row: the first stage reads the input in
# blocks of BLOCK, later stages combine PARTIALS partial results at a time
# (few enough that float sums stay accurate: no long chain of additions).
BLOCK = 1024
PARTIALS = 64
LANES = 64  # the partials a vector of the first stage holds (cpu_tiles: vectors of 64)

# Eager reductions of an operand this big run a kernel compiled for its exact
# shape (Primitive.static_above): the (C, G) view with static G makes the
# partials vector lanes, 2-4x faster than the dynamic kernel, and the one
# compile per shape (~0.5 s, then the disk cache) is paid back in a few
# hundred calls (docs/architecture.md, "Eager kernels for big arrays").
STATIC_ABOVE = 1 << 20


class Fold(NamedTuple):
    """What a reduction carries for each output element: scalars of `dtypes`,
    starting at `identity`; `combine(totals, element)` folds in one element
    (a list of such scalars) and must be associative and commutative."""
    dtypes: tuple
    identity: tuple
    combine: Callable


def _carried(inputs, position):
    """The element of a later stage: the partial result as it is."""
    return list(inputs)


def long_axis(size) -> bool:
    """Whether a reduced extent takes more than one stage: always when its
    size is only known at run time (eager kernels serve every size)."""
    return not isinstance(size, int) or size > BLOCK


def _index_op(on_ints, on_values):
    return lambda a, b: (on_ints(a, b) if isinstance(a, int) and isinstance(b, int)
                         else on_values(_as_index(a), _as_index(b)))


_add, _sub = _index_op(operator.add, arith.addi), _index_op(operator.sub, arith.subi)
_mul, _div = _index_op(operator.mul, arith.muli), _index_op(operator.floordiv, arith.divui)
_min = _index_op(min, arith.minui)


def _fill(fold, sizes):
    return [mlir.fill(mlir.scalar_constant(v, d), sizes, d) for v, d in zip(fold.identity, fold.dtypes)]


def _fold_axis(inputs, axis, totals, fold, element, position, masked=False):
    """`totals` (the inputs' dims less `axis`) with every element along `axis`
    folded in. `position()` is the element's index along the reduced extent,
    for arg-reductions; `masked` leaves out the first element."""
    rank = ir.RankedTensorType(inputs[0].type).rank
    kept = [i for i in range(rank) if i != axis]
    iterators = [mlir.REDUCTION if i == axis else mlir.PARALLEL for i in range(rank)]

    def body(*scalars):
        e = element(scalars[:len(inputs)], position)
        if masked:
            first = cmpi("eq", linalg.IndexOp(axis).result, mlir.index(0))
            e = [select(first, mlir.scalar_constant(v, d), x) for x, v, d in zip(e, fold.identity, fold.dtypes)]
        return fold.combine(scalars[len(inputs):], e)

    return mlir.generic(inputs, totals, [list(range(rank))] * len(inputs) + [kept] * len(totals), iterators, body)


def _block_size(n, block):
    """C: min(n, block); for a static n > block a divisor of n down to
    block / 2 when there is one, so that the blocks cover all of n: IREE
    copies a slice of a contiguous tensor (a 1e7 int32 max 2.1 -> 4.7 ms).
    Best one that makes G = n / C a multiple of LANES: the (C, G) view's
    rows are then whole vectors, where IREE masks every vector of a row
    that ends in a partial one (1e7 as (625, 16000), not (1000, 10000):
    an eager float32 max of 1e7 1.13 -> 0.90 ms, JAX 0.79)."""
    if not isinstance(n, int):
        return _min(n, block)
    divisors = [c for c in range(min(n, block), block // 2, -1) if n % c == 0]
    return next((c for c in divisors if n // c % LANES == 0), divisors[0] if divisors else min(n, block))


def _in_chunks(sizes, axis, g) -> bool:
    """Whether a stage folds its G blocks as contiguous chunks of (C, LANES)
    (`_fold_chunks`): static sizes, a last axis of STATIC_ABOVE elements or
    more, G a multiple of LANES."""
    static = all(isinstance(d, int) for d in sizes)
    return static and sizes[axis] >= STATIC_ABOVE and axis == len(sizes) - 1 and g % LANES == 0


def _fold_blocks(inputs, axis, c, g, whole, fold, element):
    """The G partials of the first `whole` = G * C elements of `inputs`
    along `axis`, block k holding elements k * C ... (k + 1) * C - 1, or
    with static sizes elements k, k + G, k + 2G, ...: the columns of a (C,
    G) view, so that the G partials are the lanes of vector code (1e7
    float32 under jit: max 28.7 -> 7.4 ms, sum 15.6 -> 12 ms); with dynamic
    ones IREE's code for the rows of a (G, C) view is faster (eager sum 35
    ms, against 59)."""
    across = isinstance(g, int)
    outer, inner = (c, g) if across else (g, c)
    blocks = [_split(_slice(x, axis, 0, whole), axis, outer, inner) for x in inputs]
    sizes = mlir.dims(blocks[0])
    at = lambda: _add(_mul(linalg.IndexOp(axis).result, inner), linalg.IndexOp(axis + 1).result)  # noqa: E731
    folded = axis if across else axis + 1
    return _fold_axis(blocks, folded, _fill(fold, sizes[:folded] + sizes[folded + 1:]), fold, element, at)


def _fold_chunks(inputs, axis, c, g, fold, element):
    """The G partials of the first G * C elements of `inputs` along `axis`
    (static, the last) as G / LANES contiguous chunks of C rows of LANES: a
    (G / LANES, C, LANES) view folded along C. Each chunk is one stream of
    memory, where the (C, G) view's columns are read a vector at a time
    from rows 4 G bytes apart: the first stage of a 1e7 float32 sum (its
    (250, 625, 64) view) 1.2-1.6 -> 0.5-0.8 ms on 2 cores
    (docs/architecture.md, "Eager kernels for big arrays"; its tiles:
    backends/cpu_tiles.py)."""
    sizes = mlir.dims(inputs[0])
    chunks = sizes[:axis] + [g // LANES, c, LANES]
    groups = [[i] for i in range(axis)] + [[axis, axis + 1, axis + 2]]
    blocks = [_expand(_slice(x, axis, 0, g * c), groups, chunks) for x in inputs]
    at = lambda: _add(_add(_mul(linalg.IndexOp(axis).result, c * LANES),  # noqa: E731
                           _mul(linalg.IndexOp(axis + 1).result, LANES)), linalg.IndexOp(axis + 2).result)
    partials = _fold_axis(blocks, axis + 1, _fill(fold, chunks[:axis + 1] + [LANES]), fold, element, at)
    return [_merge_last(p) for p in partials]


def _stage(inputs, axis, totals, fold, element, block):
    """One stage: the R elements along `axis` as G = R // C blocks of
    C = min(R, block), each folded into one partial result, and the
    T = R - G*C left over folded into `totals`. Returns (partials, totals)."""
    sizes = mlir.dims(inputs[0])
    n = sizes[axis]
    c = _block_size(n, block)
    g = _div(n, c)
    whole = _mul(g, c)
    if _in_chunks(sizes, axis, g):
        partials = _fold_chunks(inputs, axis, c, g, fold, element)
    else:
        partials = _fold_blocks(inputs, axis, c, g, whole, fold, element)
    left = _sub(n, whole)
    if left != 0:
        # The last T + 1 elements, the first of them (the last of the blocks)
        # masked: never an empty tensor, which Vulkan cannot bind.
        start = _sub(whole, 1)
        tail = [_slice(x, axis, start, _add(left, 1)) for x in inputs]
        at = lambda: _add(start, linalg.IndexOp(axis).result)  # noqa: E731
        totals = _fold_axis(tail, axis, totals, fold, element, at, masked=True)
    return partials, totals


def _fold_long_axes(inputs, axis, totals, fold):
    """Stages of PARTIALS while more than PARTIALS partial results are left:
    an `scf.while`, for sizes only known at run time."""
    types = [v.type for v in inputs + totals]
    k = len(inputs)
    loop = scf.WhileOp(types, inputs + totals)
    before = loop.before.blocks.append(*types)
    with ir.InsertionPoint(before):
        n = mlir.dims(before.arguments[0])[axis]
        scf.ConditionOp(cmpi("ugt", n, mlir.index(PARTIALS)), list(before.arguments))
    after = loop.after.blocks.append(*types)
    with ir.InsertionPoint(after):
        partials, left = _stage(list(after.arguments[:k]), axis, list(after.arguments[k:]), fold, _carried, PARTIALS)
        scf.YieldOp(partials + left)
    return list(loop.results[:k]), list(loop.results[k:])


def tree_reduce(inputs, axis, fold, element):
    """`inputs` (tensors of one shape) folded along `axis` by a tree of
    stages in which no loop runs over more than BLOCK elements; `element
    (scalars, position)` turns the inputs' scalars into what `fold` carries."""
    sizes = mlir.dims(inputs[0])
    totals = _fill(fold, sizes[:axis] + sizes[axis + 1:])
    n = sizes[axis]
    position = lambda: linalg.IndexOp(axis).result  # noqa: E731
    if isinstance(n, int):
        block = BLOCK
        while n > block:
            inputs, totals = _stage(inputs, axis, totals, fold, element, block)
            element, block, n = _carried, PARTIALS, mlir.dims(inputs[0])[axis]
    else:
        return _by_size(inputs, axis, totals, fold, element, n, position)
    return _fold_axis(inputs, axis, totals, fold, element, position)


def _by_size(inputs, axis, totals, fold, element, n, position):
    """The fold of an extent `n` known only at run time: one generic where n
    is at most BLOCK (a small eager reduction: one dispatch), else a stage
    and an `scf.while` of stages. An `scf.if` on n, so one kernel still
    serves every size, and each size always takes the same way."""
    branch = scf.IfOp(cmpi("ule", n, mlir.index(BLOCK)), [t.type for t in totals], has_else=True)
    with ir.InsertionPoint(branch.then_block):
        scf.YieldOp(_fold_axis(inputs, axis, totals, fold, element, position))
    with ir.InsertionPoint(branch.else_block):
        inputs, left = _stage(inputs, axis, totals, fold, element, BLOCK)
        inputs, left = _fold_long_axes(inputs, axis, left, fold)
        scf.YieldOp(_fold_axis(inputs, axis, left, fold, _carried, position))
    return list(branch.results)


def _collapse_runs(x, axes):
    """`x` with each run of adjacent dims that are all reduced or all kept
    collapsed into one; the groups of dims and the positions of the reduced ones."""
    typ = ir.RankedTensorType(x.type)
    groups = []
    for i in range(typ.rank):
        if groups and (i in axes) == (groups[-1][0] in axes):
            groups[-1].append(i)
        else:
            groups.append([i])
    reduced = [j for j, group in enumerate(groups) if group[0] in axes]
    if len(groups) < typ.rank:
        static = [_flat_size([None if typ.shape[i] == mlir.DYNAMIC() else typ.shape[i] for i in group])
                  for group in groups]
        result = ir.RankedTensorType.get([mlir.DYNAMIC() if d is None else d for d in static], typ.element_type)
        x = tensor.CollapseShapeOp(result, x, mlir.reassociation(groups)).result
    return x, groups, reduced


def reduce_axes(x, axes, fold, element, keepdims, wanted=None):
    """The reduction of `x` (a tensor, or a list of tensors of one shape
    read together) over `axes` as trees over runs of adjacent reduced
    dims (the last run first), the kept dims restored (keepdims: with unit
    dims at `axes`). With no axes, each element is reduced on its own.
    `wanted`: the positions of the fold's results to return (default all);
    the others get no reshape, so nothing reads them (an arg-reduction's
    running best: forward mode would otherwise differentiate it)."""
    xs = x if isinstance(x, list) else [x]
    sizes = mlir.dims(xs[0])
    kept = list(range(len(sizes)))
    if axes:
        kept = [i for i in kept if i not in axes]
        inputs = [_collapse_runs(v, axes)[0] for v in xs]
        _, groups, reduced = _collapse_runs(xs[0], axes)
    else:
        inputs, reduced = [_insert_unit_dims(v, [len(sizes)]) for v in xs], [len(sizes)]
        groups = [[i] for i in kept] + [reduced]
    for axis in reversed(reduced):
        inputs = tree_reduce(inputs, axis, fold, element)
        element = _carried
    inputs = inputs if wanted is None else [inputs[i] for i in wanted]
    kept_groups = [[kept.index(i) for i in group] for group in groups if group[0] in kept]
    outs = [_expand(out, kept_groups, [sizes[i] for i in kept]) if len(kept_groups) < len(kept) else out
            for out in inputs]
    return [_insert_unit_dims(out, axes) if keepdims and axes else out for out in outs]


# ---------------------------------------------------------------------------
# reduce_sum, reduce_prod, reduce_max, reduce_min, reduce_and, reduce_or

def _reduce_eval(monoid):
    def abstract_eval(x, *, axes, keepdims, dtype):
        dtype = _result_dtype(f"reduce_{monoid}", monoid, dtype)
        _check_axes(f"reduce_{monoid}", axes, x.ndim)
        return ShapedArray(_kept_shape(x.shape, axes, keepdims), dtype)  # strong, as jnp reductions are

    return abstract_eval


def monoid_fold(monoid, x_dtype, acc):
    """The Fold of `monoid` in dtype `acc`, and the element of an input of
    `x_dtype`: converted into the accumulator in the first stage's loop."""
    rule, identity = MONOIDS[monoid]
    fold = Fold((acc,), (identity(acc),), lambda totals, e: [BINARY[rule](acc, totals[0], e[0])])
    return fold, lambda inputs, position: [convert_scalar(x_dtype, acc, inputs[0])]


def _complex_chooser(x, axes, keepdims, monoid, dtype):
    """max or min of complex `x` over `axes`, in a form whose derivative is
    JAX's (lax's _reduce_chooser_jvp_rule: the tangent shared among the
    elements equal to the result), as autodiff knows only the max and min
    folds of floats (arith.maximumf), not the lexicographic compare of
    complex numbers. One tree folds a stop-gradient copy of x into the
    result m and the count of elements equal to it; then

        out = m + sum(where(x == m, x - m, 0)) / max(count, 1)

    is m exactly (each x - m there is 0), and its derivative is the mean of
    the tangents of the elements equal to m. (At an infinite m, x - m would
    be NaN: the sum leaves those out, and the derivative is 0 there.) x and
    m are read as their parts, and there are two trees, not more: IREE's
    Vulkan compiler crashed on trees and broadcasts of complex tensors here,
    and its runtime failed on eager kernels of three dynamic trees."""
    rank = ir.RankedTensorType(x.type).rank
    loops = list(range(rank))
    kept = [i for i in loops if i not in axes]
    real = dtypes.real_dtype(dtype)
    zero, one = (mlir.scalar_constant(v, real) for v in (0.0, 1.0))
    x_parts = [_map(x, real, lambda v, p=p: scalar_parts(v)[p]) for p in (0, 1)]
    stopped = [_map(x, real, lambda v, p=p: scalar_parts(v)[p]) for p in (0, 1)]
    for part in stopped:
        part.owner.attributes[STOP_GRADIENT] = ir.UnitAttr.get()

    def combine(totals, e):  # (re, im, count): JAX's max(total, e) = total if total > e else e
        (t_re, t_im, t_count), (e_re, e_im, e_count) = totals, e
        total, element = (BINARY["complex"](real, *v) for v in ((t_re, t_im), (e_re, e_im)))
        keep = BINARY["gt" if monoid == "max" else "lt"](dtype, total, element)
        tie = BINARY["eq"](dtype, total, element)
        count = arith.select(keep, t_count, arith.select(tie, arith.addf(t_count, e_count), e_count))
        return [arith.select(keep, t_re, e_re), arith.select(keep, t_im, e_im), count]

    worst = (_lowest if monoid == "max" else _highest)(real)
    fold = Fold((real, real, real), (worst, 0.0, 0.0), combine)
    m_re, m_im, count = reduce_axes(stopped, axes, fold, lambda parts, _: [*parts, one], keepdims=False)

    def offset(xr, xi, mr, mi, _):  # the real part of x - m at pair slot 0, the imaginary one at 1
        chosen = arith.andi(arith.andi(cmpf("oeq", xr, mr), cmpf("oeq", xi, mi)),
                            UNARY["isfinite"](dtype, BINARY["complex"](real, mr, mi)))
        first = cmpi("eq", linalg.IndexOp(rank).result, mlir.index(0))
        return [arith.select(chosen, arith.subf(arith.select(first, xr, xi), arith.select(first, mr, mi)), zero)]

    # the offsets as (re, im) pairs along a last axis: a real tree sums both
    offsets = mlir.generic(x_parts + [m_re, m_im], [mlir.empty(mlir.dims(x) + [2], real)],
                           [loops, loops, kept, kept, loops + [rank]], [mlir.PARALLEL] * (rank + 1), offset)[0]
    (total,) = reduce_axes(offsets, axes, *monoid_fold("sum", real, real), keepdims=False)
    out_rank = len(kept)
    total = [_drop_last_unit(_slice(total, out_rank, k, 1)) for k in (0, 1)]

    def mean_offset(mr, mi, tr, ti, c, _):
        c = arith.maximumf(c, one)
        return [BINARY["complex"](real, arith.addf(mr, arith.divf(tr, c)), arith.addf(mi, arith.divf(ti, c)))]

    out = mlir.generic([m_re, m_im, *total, count], [mlir.empty(mlir.dims(m_re), dtype)], [list(range(out_rank))] * 6,
                       [mlir.PARALLEL] * out_rank, mean_offset)[0]
    return _insert_unit_dims(out, axes) if keepdims and axes else out


def _reduce_emit(monoid):
    def emit(ctx, x, *, axes, keepdims, dtype):
        x_dtype, dtype = ctx.avals_in[0].dtype, np.dtype(dtype)
        if monoid in ("max", "min") and dtypes.is_complex(dtype):
            return [_complex_chooser(cast(x, x_dtype, dtype), axes, keepdims, monoid, dtype)]
        acc = accumulator_dtype(monoid, dtype)
        (out,) = reduce_axes(x, axes, *monoid_fold(monoid, x_dtype, acc), keepdims)
        return [cast(out, acc, dtype)]

    return emit


reduce = {
    m: Primitive(f"reduce_{m}", _reduce_eval(m), _reduce_emit(m), dynamic_shapes=True,
                 static_above=STATIC_ABOVE) for m in MONOIDS
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


def _arg_eval(name):
    def abstract_eval(x, *, axes, keepdims, index_dtype):
        if dtypes.is_complex(x.dtype):  # JAX's argmax compares with lax.gt, which refuses complex
            compare = "gt" if name == "argmax" else "lt"
            raise TypeError(f"{compare} does not accept dtype {x.dtype.name} at position 0. Accepted dtypes at "
                            "position 0 are subtypes of integer, floating, bool.")
        _check_axes(name, axes, x.ndim)
        if axes and axes[-1] - axes[0] != len(axes) - 1:
            raise ValueError(f"{name}: the axes must be adjacent (one axis, or all of them); got {axes}")
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"attempt to get {name} of an empty sequence")
        return ShapedArray(_kept_shape(x.shape, axes, keepdims), index_dtype)

    return abstract_eval


def _arg_emit(greater):
    def emit(ctx, x, *, axes, keepdims, index_dtype):
        dtype = ctx.avals_in[0].dtype
        if dtypes.is_bit_float(dtype):  # compared as float32: their i8 bits order nothing
            x, dtype = cast(x, dtype, dtypes.float32), dtypes.float32
        beats, ties = _order(dtype, greater)

        def combine(totals, e):
            (best, best_index), (v, index) = totals, e
            take = arith.ori(beats(v, best), arith.andi(ties(v, best), cmpi("slt", index, best_index)))
            return [arith.select(take, v, best), arith.select(take, index, best_index)]

        worst = _lowest(dtype) if greater else _highest(dtype)
        fold = Fold((dtype, index_dtype), (worst, np.iinfo(index_dtype).max), combine)
        index_type = mlir.element_type(index_dtype)
        first = lambda inputs, position: [inputs[0], arith.index_cast(index_type, position())]  # noqa: E731
        # Behind a barrier: IREE 3.13 moves a later transpose into the loop and keeps
        # only the index's result, yielding two values to one (a CompileError)
        return opaque(*reduce_axes(x, axes, fold, first, keepdims, wanted=[1]))

    return emit


argmax = Primitive("argmax", _arg_eval("argmax"), _arg_emit(greater=True), dynamic_shapes=True,
                   static_above=STATIC_ABOVE)
argmin = Primitive("argmin", _arg_eval("argmin"), _arg_emit(greater=False), dynamic_shapes=True,
                   static_above=STATIC_ABOVE)
