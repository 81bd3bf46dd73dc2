"""Scans: `cumsum` and `cumprod`, the running sum and product along one axis.

    out[..., i, ...] = x[..., 0, ...] + x[..., 1, ...] + ... + x[..., i, ...]     (cumprod: *)

an inclusive scan of the monoid's combine from its identity (reductions.py's
MONOIDS), into the result `dtype`; axis=None scans the flattened array.
Elements are converted into the accumulator of the reduction of the same
monoid (`accumulator_dtype`: float32 for half, 8- and 4-bit floats) and the
result rounded once at the end. irax.numpy's cumsum/cumprod and lax's bind
these primitives; lax's cummax, cummin and cumlogsumexp are not primitives
but `associative_scan`s of elementwise ops (lax_scans.py).

Real scans are IREE's scan op (`iree_linalg_ext.scan`, ir/iree.py): one
pass, sequential along the axis and parallel across the others, in the
order NumPy adds and multiplies (1e7 float32: ~50 ms, where the parallel
passes below took 730 ms). The order matters for products beyond
rounding: [1e30, inf, 1e-30, 1e-30] has the running products 1e30, inf,
inf, inf in NumPy's order and JAX's, where a parallel scan's partial
product 1e-30 * 1e-30 underflows to 0 and inf * 0 is NaN. Autodiff and
vmap have rules for the op when it sums (transforms/ad, batching.py): it is
linear, its transpose the same scan in reverse; a product is differentiated
by JAX's rule (numpy/reductions.running_product), never as the op.
Boolean scans and complex products are Hillis-Steele scans: after step k
every element holds the combination of the 2**k elements ending at it,

    y <- combine(shift(y, s), y)      s = 1, 2, 4, ... while s < n

where `shift` pads with the identity at the front (`tensor.pad` of a
`tensor.extract_slice`): ceil(log2 n) parallel passes, differentiated as the
generics they are. When n is static (traced code) the steps are unrolled
into plain slices and generics; in eager kernels n is only known at run
time, so the steps run in an `scf.while`. (A sequential `scf.for` of
tensor.extract/insert runs on IREE's host side: 6 s for 1e5 elements.)
Complex scans run on the (re, im) parts (`_complex_scan`): a sum is two
real scans, a product the Hillis-Steele scan of pairs (IREE's scan op
carries one value); IREE's Vulkan compiler crashes on a scan or pad of
complex values.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, scf, tensor

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.reductions import (
    MONOIDS, _check_axes, _flat_size, _map, _mixed, _result_dtype, _slice, _sub, accumulator_dtype, cast,
)
from irax.frontend.primitives.scalar_rules import BINARY
from irax.ir import mlir
from irax.ir.iree import linalg_ext_scan
from irax.ir.scalar import cmpi
from irax.ir.scalar import parts as scalar_parts


def _flatten(value, aval):
    """`value` as a rank-1 tensor in row-major order."""
    typ = mlir.tensor_type([_flat_size(aval.shape)], aval.dtype)
    if aval.ndim == 0:
        return tensor.ExpandShapeOp(typ, value, mlir.reassociation([]), [], [1]).result
    return tensor.CollapseShapeOp(typ, value, mlir.reassociation([list(range(aval.ndim))])).result


def _shift(y, axis, s, fill):
    """y moved `s` places along `axis`, the vacated front filled with `fill`:
    pad(y[..., :n-s, ...], low=s). `s` is an int or an index Value."""
    rank = ir.RankedTensorType(y.type).rank
    sliced = _slice(y, axis, 0, _sub(mlir.dims(y)[axis], s))
    dynamic_low, static_low = _mixed([0] * axis + [s] + [0] * (rank - axis - 1))
    pad = tensor.PadOp(y.type, sliced, dynamic_low, [], static_low, [0] * rank)
    block = pad.regions[0].blocks.append(*[ir.IndexType.get()] * rank)
    with ir.InsertionPoint(block):
        tensor.YieldOp(fill)
    return pad.result


def _scan(y, axis, monoid, dtype):
    """Inclusive scan of `y` along `axis`: IREE's scan op, Hillis-Steele
    for booleans (see the module's docstring); complex values on their parts
    (`_complex_scan`)."""
    if dtypes.is_complex(dtype):
        return _complex_scan(y, axis, monoid, dtype)
    rule, identity = MONOIDS[monoid]
    fill = mlir.scalar_constant(identity(dtype), dtype)
    if dtype != np.bool_:  # (IREE's scan of i1 fails to compile: it stores them as i8)
        sizes = mlir.dims(y)
        out, acc = mlir.fill(fill, sizes, dtype), mlir.fill(fill, sizes[:axis] + sizes[axis + 1:], dtype)
        return linalg_ext_scan(y, out, acc, axis, lambda total, here: BINARY[rule](dtype, total, here))[0]
    combine = lambda before, here: [BINARY[rule](dtype, before[0], here[0])]  # noqa: E731
    return _hillis_steele([y], [dtype], axis, [fill], combine)[0]


def _complex_scan(z, axis, monoid, dtype):
    """A scan of complex `z` carried as its (re, im) parts: IREE's Vulkan
    compiler crashes on a scan or a pad of complex values. A sum is two real
    scans; a product a Hillis-Steele scan of pairs, each step the complex
    product (a + ib)(c + id) = (ac - bd) + i(ad + bc) of the part before and
    the part here, as XLA's complex multiply computes it."""
    real = dtypes.real_dtype(dtype)
    parts_of = [_map(z, real, lambda x, p=p: scalar_parts(x)[p]) for p in (0, 1)]  # (autodiff: one result each)
    if monoid == "sum":
        scanned = [_scan(p, axis, "sum", real) for p in parts_of]
    else:
        def combine(before, here):
            (a, b), (c, d) = before, here
            return [arith.subf(arith.mulf(a, c), arith.mulf(b, d)), arith.addf(arith.mulf(a, d), arith.mulf(b, c))]

        fills = [mlir.scalar_constant(v, real) for v in (1.0, 0.0)]
        scanned = _hillis_steele(parts_of, [real, real], axis, fills, combine)
    rank = ir.RankedTensorType(z.type).rank
    return mlir.generic(scanned, [mlir.empty(mlir.dims(z), dtype)], [list(range(rank))] * 3, [mlir.PARALLEL] * rank,
                        lambda re, im, _: [BINARY["complex"](real, re, im)])[0]


def _hillis_steele(ys, dts, axis, fills, combine):
    """The inclusive scan of the tensors `ys` (of one shape, dtypes `dts`)
    carried together along `axis`: `combine(before, here)` combines two
    lists of their scalars, `fills` (scalars) are its identity. The first
    s elements of a step, with nothing s places before them, are kept as
    they are: combined with the identity, a complex inf + NaN i would not
    be ((1 + 0i)(inf + NaN i) is NaN + NaN i). Each step makes each tensor
    by a generic of its own, as autodiff differentiates generics of one
    result."""
    rank = ir.RankedTensorType(ys[0].type).rank
    k = len(ys)

    def step(ys, s):
        shifted = [_shift(y, axis, s, fill) for y, fill in zip(ys, fills)]

        def body(j, *xs):
            first = cmpi("slt", linalg.IndexOp(axis).result, mlir.index(s) if isinstance(s, int) else s)
            return [arith.select(first, xs[k + j], combine(list(xs[:k]), list(xs[k:2 * k]))[j])]

        return [mlir.generic(shifted + ys, [mlir.empty(mlir.dims(y), d)], [list(range(rank))] * (2 * k + 1),
                             [mlir.PARALLEL] * rank, lambda *xs, j=j: body(j, *xs))[0]
                for j, (y, d) in enumerate(zip(ys, dts))]

    dims = mlir.dims(ys[0])
    if any(isinstance(d, int) and d == 0 for d in dims):  # nothing to scan; MLIR refuses slices of it
        return ys
    n = dims[axis]
    if isinstance(n, int):
        s = 1
        while s < n:
            ys = step(ys, s)
            s *= 2
        return ys
    types = [y.type for y in ys] + [ir.IndexType.get()]
    loop = scf.WhileOp(types, ys + [mlir.index(1)])
    before = loop.before.blocks.append(*types)
    with ir.InsertionPoint(before):
        scf.ConditionOp(cmpi("slt", before.arguments[-1], n), list(before.arguments))
    after = loop.after.blocks.append(*types)
    with ir.InsertionPoint(after):
        *ys_k, s = after.arguments
        scf.YieldOp(step(list(ys_k), s) + [arith.muli(s, mlir.index(2))])
    return list(loop.results[:k])


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
