"""Sorting primitives.

    sort          lax.sort: operands permuted alike along one dimension,
                  ordered lexicographically by the first `num_keys`
    top_k         lax.top_k: the k largest along the last axis, largest
                  first, and their int32 indices
    searchsorted  where each query would go in a sorted 1-D array: a binary
                  search per query, unrolled in one generic

The sort's order is JAX's total order on each key: for floats

    -inf < ... < -0.0 == 0.0 < ... < inf < NaN     (every NaN equal)

and a complex key is two keys, its real part then its imaginary part, each
in that order (JAX's `_operands_to_keys`);
unsigned and bool keys compare unsigned, others signed. Every sort is
stable, as `is_stable=True` asks and `is_stable=False` allows. top_k orders
floats by their bits, as XLA's TopK does: -NaN < -inf < ... < -0.0 < 0.0 <
... < inf < NaN; equal values come in index order.

How: a bitonic sorting network on (keys, position)
--------------------------------------------------
Each float key is first mapped to an integer with the same order
(`_integer_key`), so the network compares integers only. Ties are broken by
the position along the sorted dimension, which makes the order strict and
total: any correct sorting network then gives the stable sort. One key of
up to 32 bits travels packed with its position in one int64 (one compare
per exchange); more keys travel as a tuple of tensors. The length n is
padded to N = 2^m; a padding slot (position >= n) is larger than everything,
so it ends up past the first n.

The network is m(m+1)/2 steps, in two nested scf.for loops (p = 1..m,
q = p-1..0, distance j = 2^q, block 2^p); a step is

    partner = i xor j
    out[i]  = min(x[i], x[partner])  if (i < partner) == (i & 2^p == 0)
              max(x[i], x[partner])  otherwise

and one linalg.generic does FUSED_STEPS consecutive steps: slot i's value
after them follows from the 2^FUSED_STEPS slots it depends on, all near it,
so the whole array is read and written once per FUSED_STEPS steps. Each
thread does a constant amount of work (no loop runs long in one GPU thread:
lavapipe stops those), and the loop over steps runs on IREE's host. (IREE's
own `iree_linalg_ext.sort` is a bubble sort: O(n^2) work in one thread per
row, which gave wrong results on lavapipe from 300 elements on.)

The sorted positions are the permutation; the operands are then read
through it (a gather). That gather is all autodiff and vmap need to see:
the keys and positions are integers, so the derivative of a sort is the
gather's, which is JAX's rule (sort's JVP permutes the tangent), and the
network's generics and loops batch like any others.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, scf, tensor

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.ir.iree import materialized
from irax.ir import mlir
from irax.ir.scalar import cmpf, cmpi, parts

_POSITION = np.dtype(np.int32)
FUSED_STEPS = 2  # network steps per generic: 2 took the least CPU time for 1e6 float32 (1: 1.45x, 3: 1.26x)


def _integer_key(dtype, x, canonical=True):
    """A float scalar as a signed integer of its width with the same total
    order: the bits, whose magnitude part is reversed for negative numbers.
    `canonical`: the sort's order, -0.0 -> 0.0 and every NaN -> the positive
    quiet NaN first; else the order of the bits, top_k's (XLA's TopK):
    -NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN."""
    width = dtype.itemsize * 8
    int_type = ir.IntegerType.get_signless(width)
    if canonical:
        zero = mlir.scalar_constant(0.0, dtype)
        x = arith.select(cmpf("oeq", x, zero), zero, x)
        x = arith.select(cmpf("uno", x, x), mlir.scalar_constant(np.nan, dtype), x)
    bits = arith.bitcast(int_type, x)
    sign = arith.shrsi(bits, arith.ConstantOp(int_type, width - 1).result)  # all ones for negative numbers
    magnitude = arith.ConstantOp(int_type, (1 << (width - 1)) - 1).result
    return arith.xori(bits, arith.andi(sign, magnitude))


def _key_signed(dtype) -> bool:
    return not (dtypes.is_unsigned(dtype) or dtypes.is_bool(dtype))


def _integer(dtype, x, canonical=True):
    """A key scalar as an integer of the same order (unsigned compares
    unsigned)."""
    return _integer_key(dtype, x, canonical) if dtypes.is_float(dtype) else x


def _real_keys(keys, avals):
    """The keys with each complex one replaced by two float keys, its real
    and its imaginary parts (JAX's lexicographic order of complex numbers),
    read off by an elementwise generic: the network then sorts floats only.
    (Reading the parts of a complex argument inside the first network
    generic made IREE's CPU runtime fail with an out-of-range binding.)"""
    out_keys, out_avals = [], []
    for x, aval in zip(keys, avals):
        if dtypes.is_complex(aval.dtype):
            real = dtypes.real_dtype(aval.dtype)
            rank = aval.ndim
            # (a generic per part: forward-mode autodiff passes through generics of one result)
            out_keys += [mlir.generic([x], [mlir.empty(mlir.dims(x), real)], [list(range(rank))] * 2,
                                      [mlir.PARALLEL] * rank, lambda z, _, p=p: [parts(z)[p]])[0] for p in (0, 1)]
            out_avals += [aval.update(dtype=real, weak_type=False)] * 2
        else:
            out_keys.append(x)
            out_avals.append(aval)
    return out_keys, out_avals


def _lexicographic_less(signed, lhs, rhs):
    """lhs < rhs for tuples of integers, the first most significant:
    l0 < r0 or (l0 == r0 and (l1 < r1 or ...))."""
    result = None
    for is_signed, x, y in reversed(list(zip(signed, lhs, rhs))):
        lt = cmpi("slt" if is_signed else "ult", x, y)
        result = lt if result is None else arith.ori(lt, arith.andi(cmpi("eq", x, y), result))
    return result


def _pow2_at_least(n) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _padded_generic(operands, avals, size, dimension, dtypes_out, body):
    """A generic over the operands' shape with `dimension` grown to `size`;
    `body(position, read)` gets the slot's position along `dimension` (an
    index) and a function reading an operand there (clamped into the
    operands: a padding slot reads the last element, and must not use it)."""
    shape = list(avals[0].shape)
    n = shape[dimension]
    padded = list(shape)
    padded[dimension] = size
    rank = len(shape)

    def generic_body(*_):
        loops = [linalg.IndexOp(d).result for d in range(rank)]
        at = list(loops)
        at[dimension] = arith.minui(loops[dimension], mlir.index(n - 1))
        return body(loops[dimension], lambda x: tensor.ExtractOp(read[x], at).result)

    read = {}  # each operand read with tensor.extract, materialized (iree.materialized says why)
    for operand in operands:
        read.setdefault(operand, materialized(operand))

    outs = [mlir.empty(padded, dtype) for dtype in dtypes_out]
    return mlir.generic([], outs, [list(range(rank))] * len(outs), [mlir.PARALLEL] * rank, generic_body)


def _packed(operand, aval, dimension, size, top):
    """One key of at most 32 bits and its position packed into one int64,
    whose signed order is the sort's: (key as int32 in the key's order) << 32
    | position. `top` (top_k) orders floats by their bits, and flips the
    key (~k reverses a signed order): the largest first. Padding
    slots get the largest key, and positions past every element's."""
    i32, i64 = (ir.IntegerType.get_signless(w) for w in (32, 64))
    n = aval.shape[dimension]

    def body(i, read):
        key = _integer(aval.dtype, read(operand), canonical=not top)
        width = ir.IntegerType(key.type).width
        if width < 32:
            key = (arith.extsi if _key_signed(aval.dtype) else arith.extui)(i32, key)
        elif not _key_signed(aval.dtype):  # unsigned order as signed: flip the top bit
            key = arith.xori(key, arith.ConstantOp(i32, -(1 << 31)).result)
        if top:
            key = arith.xori(key, arith.ConstantOp(i32, -1).result)
        key = arith.select(cmpi("ult", i, mlir.index(n)), key, arith.ConstantOp(i32, (1 << 31) - 1).result)
        high = arith.shli(arith.extsi(i64, key), arith.ConstantOp(i64, 32).result)
        return [arith.ori(high, arith.index_cast(i64, i))]

    return _padded_generic([operand], [aval], size, dimension, [np.dtype(np.int64)], body)


def _tuples(operands, avals, num_keys, dimension, size, top):
    """The keys as integers (floats through `_integer_key`) and the
    positions, padded to `size` along `dimension`."""
    def body(i, read):
        return [_integer(a.dtype, read(x), canonical=not top) for x, a in zip(operands[:num_keys], avals)] + [
            arith.index_cast(mlir.element_type(_POSITION), i)]

    widths = [np.dtype(f"int{a.dtype.itemsize * 8}") if dtypes.is_float(a.dtype) else a.dtype
              for a in avals[:num_keys]]
    return _padded_generic(operands[:num_keys], avals, size, dimension, widths + [_POSITION], body)


def _network_steps(carried, first, dimension, block, distances):
    """Consecutive steps of the bitonic network (module docstring) within
    one block size, as one generic on the tensors `carried`: `block` and
    `distances` are index Values, and a distance of 0 is no step (the
    partner is the slot itself). Slot i's value after steps 1..L reads 2^L
    slots, all nearby, in one pass over memory. `first(a, b)`: whether
    value tuple a goes before b."""
    shape = ir.RankedTensorType(carried[0].type).shape
    rank = len(shape)
    true = arith.ConstantOp(ir.IntegerType.get_signless(1), 1).result

    def body(*args):
        loops = [linalg.IndexOp(d).result for d in range(rank)]

        def read(i):
            at = list(loops)
            at[dimension] = i
            return [tensor.ExtractOp(x, at).result for x in carried]

        def after(i, steps):
            """The values at slot i after the first `steps` steps."""
            if steps == 0:
                return read(i)
            partner = arith.xori(i, distances[steps - 1])
            mine, theirs = after(i, steps - 1), after(partner, steps - 1)
            # the lower slot of an ascending block keeps the first of the two, and so on
            ascending = cmpi("eq", arith.andi(i, block), mlir.index(0))
            keeps_first = arith.xori(ascending, arith.xori(cmpi("ult", i, partner), true))
            take = arith.xori(first(theirs, mine), arith.xori(keeps_first, true))
            return [arith.select(take, t, m) for m, t in zip(mine, theirs)]

        return after(loops[dimension], len(distances))

    outs = [tensor.EmptyOp(list(shape), ir.RankedTensorType(x.type).element_type).result for x in carried]
    return mlir.generic([], outs, [list(range(rank))] * len(carried), [mlir.PARALLEL] * rank, body)


def _network(carried, first, dimension, size):
    """The bitonic network over `dimension` (of length `size`, a power of
    two): stages p = 1..m, each FUSED_STEPS steps per generic."""
    if size == 1:
        return carried
    one = mlir.index(1)
    outer = scf.ForOp(one, mlir.index(size.bit_length()), one, carried)
    with ir.InsertionPoint(outer.body):
        p = outer.induction_variable
        block = arith.shli(one, p)
        inner = scf.ForOp(mlir.index(0), p, mlir.index(FUSED_STEPS), list(outer.inner_iter_args))
        with ir.InsertionPoint(inner.body):
            q = inner.induction_variable
            distances = [arith.shrui(block, arith.addi(q, mlir.index(k + 1))) for k in range(FUSED_STEPS)]
            scf.YieldOp(_network_steps(list(inner.inner_iter_args), first, dimension, block, distances))
        scf.YieldOp(list(inner.results))
    return list(outer.results)


def permutation(operands, avals, num_keys, dimension, top=False):
    """The positions along `dimension` that sort the operands' keys, stably,
    as int32; `top`: top_k's order, descending by the bits of floats (equal
    keys still in position order).

    One key of up to 32 bits travels packed with its position in an int64
    (`_packed`), the others as a tuple of tensors (keys..., positions)."""
    shape = list(avals[0].shape)
    n = shape[dimension]
    size = _pow2_at_least(n)
    rank = len(shape)
    operands, avals = _real_keys(operands[:num_keys], avals[:num_keys])
    num_keys = len(operands)
    if num_keys == 1 and avals[0].dtype.itemsize <= 4:
        (packed,) = _network(_packed(operands[0], avals[0], dimension, size, top),
                             lambda a, b: cmpi("slt", a[0], b[0]), dimension, size)
        perm = mlir.generic([packed], [mlir.empty(ir.RankedTensorType(packed.type).shape, _POSITION)],
                            [list(range(rank))] * 2, [mlir.PARALLEL] * rank,
                            lambda v, _: [arith.trunci(mlir.element_type(_POSITION), v)])[0]
    else:
        signed = [_key_signed(a.dtype) for a in avals[:num_keys]]
        valid = arith.ConstantOp(mlir.element_type(_POSITION), n).result

        def first(a, b):  # padding slots are larger than everything, and ordered by position
            pads = arith.ori(cmpi("sge", a[-1], valid), cmpi("sge", b[-1], valid))
            return arith.select(pads, cmpi("slt", a[-1], b[-1]), _before(signed, top, a, b))

        perm = _network(_tuples(operands, avals, num_keys, dimension, size, top), first, dimension, size)[-1]
    if size != n:
        perm = tensor.ExtractSliceOp(mlir.tensor_type(shape, _POSITION), perm, [], [], [], [0] * rank, shape,
                                     [1] * rank).result
    return perm


def _before(signed, top, a, b):
    """Whether (keys..., position) `a` goes before `b`: by the keys (largest
    first when `top`), then by position."""
    a_keys, b_keys = (b[:-1], a[:-1]) if top else (a[:-1], b[:-1])
    return _lexicographic_less(list(signed) + [True], list(a_keys) + [a[-1]], list(b_keys) + [b[-1]])


def gather_along(x, aval, perm, dimension):
    """out[..., i, ...] = x[..., perm[..., i, ...], ...] (perm's shape)."""
    shape = list(ir.RankedTensorType(perm.type).shape)
    rank = len(shape)
    x = materialized(x)

    def body(p, _):
        at = [linalg.IndexOp(d).result for d in range(rank)]
        at[dimension] = arith.index_cast(ir.IndexType.get(), p)
        return [tensor.ExtractOp(x, at).result]

    return mlir.generic([perm], [mlir.empty(shape, aval.dtype)], [list(range(rank))] * 2, [mlir.PARALLEL] * rank,
                        body)[0]


def _sort_eval(*operands, dimension, is_stable, num_keys):
    if not operands:
        raise TypeError("Sort requires at least one operand")
    if any(a.shape != operands[0].shape for a in operands[1:]):
        raise TypeError(f"Arguments to sort must have equal shapes, got: {' '.join(str(a.shape) for a in operands)}")
    if not 1 <= num_keys <= len(operands):
        raise ValueError(f"num_keys={num_keys} must be between 1 and len(operand)={len(operands)}")
    if not 0 <= dimension < operands[0].ndim:
        raise ValueError(f"sort dimension {dimension} is out of range for operands of rank {operands[0].ndim}")
    return operands


def _sort_emit(ctx, *operands, dimension, is_stable, num_keys):
    """An empty operand needs no sort."""
    avals = ctx.avals_in
    if 0 in avals[0].shape:
        return list(operands)
    perm = permutation(operands, avals, num_keys, dimension)
    return [gather_along(x, aval, perm, dimension) for x, aval in zip(operands, avals)]


sort = Primitive("sort", _sort_eval, _sort_emit, multiple_results=True)


def _top_k_eval(operand, *, k):
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    if operand.ndim == 0:
        raise TypeError(f"top_k operand must have >= 1 dimension, got {operand.shape}")
    if dtypes.is_complex(operand.dtype):
        raise ValueError("top_k is not compatible with complex inputs.")
    if operand.shape[-1] < k:
        raise ValueError("k argument to top_k must be no larger than size along axis;"
                         f" got k={k} with shape={list(operand.shape)} and axis={operand.ndim - 1}")
    shape = operand.shape[:-1] + (k,)
    return ShapedArray(shape, operand.dtype, operand.weak_type), ShapedArray(shape, dtypes.int32)


def _top_k_emit(ctx, operand, *, k):
    """The first k of top_k's permutation along the last axis (descending by
    the bits of floats, equal values in index order), and the values there."""
    (aval,) = ctx.avals_in
    values_aval, indices_aval = ctx.avals_out
    if k == 0 or 0 in aval.shape:
        return [mlir.empty(values_aval.shape, aval.dtype), mlir.empty(indices_aval.shape, np.int32)]
    last = aval.ndim - 1
    perm = permutation([operand], [aval], 1, last, top=True)
    if k != aval.shape[last]:
        rank = aval.ndim
        perm = tensor.ExtractSliceOp(mlir.tensor_type(indices_aval.shape, _POSITION), perm, [], [], [], [0] * rank,
                                     list(indices_aval.shape), [1] * rank).result
    return [gather_along(operand, aval, perm, last), perm]


top_k = Primitive("top_k", _top_k_eval, _top_k_emit, multiple_results=True)


def _searchsorted_eval(a, v, *, side):
    if side not in ("left", "right"):
        raise ValueError(f"invalid argument side={side!r}, expected 'left' or 'right'")
    if a.ndim != 1:
        raise ValueError("a should be 1-dimensional")
    if a.dtype != v.dtype:
        raise TypeError(f"searchsorted: a and v must have one dtype, got {a.dtype.name} and {v.dtype.name}")
    return ShapedArray(v.shape, dtypes.int32)


def _searchsorted_emit(ctx, a, v, *, side):
    """For each query q, as JAX's 'scan' method: ceil(log2(n + 1)) halvings
    of [low, high) = [0, n), keeping the half q goes into ('left': before
    a[mid] when q <= a[mid]; 'right': when q < a[mid], in the sort's total
    order). The answer is `high`. The levels are unrolled: no loop runs in a
    thread."""
    a_aval, v_aval = ctx.avals_in
    out = ctx.avals_out[0]
    (n,) = a_aval.shape
    rank = v_aval.ndim
    i32 = mlir.element_type(np.int32)
    if n == 0:
        return [mlir.fill(arith.ConstantOp(i32, 0).result, out.shape, np.int32)]
    a_keys, a_avals = _real_keys([a], [a_aval])  # complex: (real, imag), compared lexicographically
    a_keys = [materialized(x) for x in a_keys]
    v_keys, _ = _real_keys([v], [v_aval])
    signed = [_key_signed(x.dtype) for x in a_avals]
    less = (lambda x, y: _lexicographic_less(signed, x, y))

    def body(*qs):
        q = [_integer(x.dtype, part) for x, part in zip(a_avals, qs[:-1])]
        low, high = mlir.index(0), mlir.index(n)
        for _level in range(int(np.ceil(np.log2(n + 1)))):
            mid = arith.addi(low, arith.divui(arith.subi(high, low), mlir.index(2)))
            pivot = [_integer(x.dtype, tensor.ExtractOp(part, [mid]).result) for x, part in zip(a_avals, a_keys)]
            if side == "left":  # q <= pivot
                go_left = arith.xori(less(pivot, q), arith.ConstantOp(ir.IntegerType.get_signless(1), 1).result)
            else:
                go_left = less(q, pivot)
            low, high = arith.select(go_left, low, mid), arith.select(go_left, mid, high)
        return [arith.index_cast(i32, high)]

    return mlir.generic(v_keys, [mlir.empty(out.shape, np.int32)], [list(range(rank))] * (len(v_keys) + 1),
                        [mlir.PARALLEL] * rank, body)


searchsorted = Primitive("searchsorted", _searchsorted_eval, _searchsorted_emit)
