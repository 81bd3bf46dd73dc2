"""Autodiff and batching rules of convolutions and windowed reductions (the
ops of irax/ir/convolution.py), each written as more such ops.

A convolution in the grouped layout, lhs (N, S..., G, C), rhs (K..., G, C, F),
out (N, O..., G, F), strides s, dilations d, is bilinear, and its transposes
are convolutions again (JAX's _conv_general_dilated_transpose_lhs/rhs):

    ct_lhs = conv(ct dilated by s and padded by d*(K-1) low, S - (O-1)*s - 1 high,
                  rhs reversed along K with C and F swapped;  strides 1, dilations d)
             (with dilations 1 and a stride, one such convolution per phase of
             the stride, on ct itself: _lhs_cotangent_by_phases)
    ct_rhs[k, g, c, f] = sum_{n, o} lhs[n, o*s + k*d, g, c] * ct[n, o, g, f]
           = conv(lhs as (C, S..., G, N), ct as (O..., G, N, F); strides d, dilations s)
             (lhs is the (O-1)*s + (K-1)*d + 1 the forward convolution reads,
             cv.read_span, so that its K' = K, but where O is 0)

A windowed sum's transpose is a windowed sum of the cotangent dilated by s
and padded as above (JAX's _reduce_window_sum_transpose_rule). A windowed
max or min sends each window's cotangent to the element JAX's
select-and-scatter selects (cv.first_extreme_offset: the first extreme
one, but for NaNs): for small windows a gather over x's window slices
(`to_first_extreme`), to which vmap adds a parallel dim, else a
scatter-add at the positions `first_extreme` finds (the first extreme
element or NaN); its tangent is the tangent there (a gather).

Batching folds the batch into an existing dim: into N where only lhs is
batched, into the output features where only rhs is (JAX's rule), into the
groups where both are; a windowed reduction gets a window of 1 over it.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, tensor

from irax.ir import convolution as cv
from irax.ir import mlir
from irax.ir.iree import linalg_ext_scatter
from irax.transforms.ad.tensor_ops import add, zero_of, zeros_like


# ---------------------------------------------------------------------------
# Convolutions

def _lhs_cotangent(parts, ct):
    lhs, rhs, s, d = parts.op.operands[0], parts.rhs, parts.strides, parts.dilations
    n = len(s)
    if any(si > 1 for si in s) and all(di == 1 for di in d) and all(cv.shape(ct)[1:n + 1]):
        return _lhs_cotangent_by_phases(parts.grouped_shape(lhs, "lhs"), rhs, ct, s)
    sizes, window, out = cv.shape(lhs), cv.shape(rhs)[:n], cv.shape(ct)
    low = [0] + [di * (k - 1) for di, k in zip(d, window)] + [0, 0]
    total = [out[0]] + [size + di * (k - 1) for size, di, k in zip(sizes[1:n + 1], d, window)] + out[n + 1:]
    padded = cv.place(ct, zero_of(cv.elem_type(ct)), low, [1, *s, 1, 1], total)
    return cv.conv(padded, cv.flip_kernel(rhs), [1] * n, d)


def _lhs_cotangent_by_phases(sizes, rhs, ct, s):
    """The lhs cotangent of a strided convolution (dilations 1), one phase
    (residue r of the index mod s) at a time: ct_lhs[r + s*q] =
    sum_t ct[q - t] * rhs[r + s*t], a convolution of ct with every s-th tap
    of the kernel from r, written into its slice of a zero tensor. The
    stride-dilated cotangent's convolution does s^n times the multiply-adds,
    all but these on its zeros (per-example gradients of a 4x4 / 2 layer,
    (64, 13, 13, 32): 1.2 ms on one CPU thread)."""
    n = len(s)
    batch, spatial, groups, channels = sizes[0], sizes[1:n + 1], sizes[n + 1], sizes[n + 2]
    window, out, features = cv.shape(rhs)[:n], cv.shape(ct)[1:n + 1], cv.shape(ct)[-1]
    zero = zero_of(cv.elem_type(ct))
    result = mlir.fill_tensor(zero, tensor.EmptyOp(list(sizes), cv.elem_type(ct)).result)
    for r in np.ndindex(*s):
        taps = [-(-(k - ri) // si) for k, ri, si in zip(window, r, s)]  # the j = r + s*t < K
        rows = [-(-(size - ri) // si) for size, ri, si in zip(spatial, r, s)]  # the i = r + s*q < S
        if min(taps + rows) <= 0:
            continue
        kernel = cv.crop(rhs, [*r, 0, 0, 0], [*taps, groups, channels, features], [*s, 1, 1, 1])
        used = cv.crop(ct, [0] * (n + 3), [batch, *(min(o, q) for o, q in zip(out, rows)), groups, features])
        padded = cv.place(used, zero, [0, *(t - 1 for t in taps), 0, 0], [1] * (n + 3),
                          [batch, *(q + t - 1 for q, t in zip(rows, taps)), groups, features])
        phase = cv.conv(padded, cv.flip_kernel(kernel), [1] * n, [1] * n)  # (N, rows..., G, C)
        result = tensor.InsertSliceOp(phase, result, [], [], [], ir.DenseI64ArrayAttr.get([0, *r, 0, 0]),
                                      ir.DenseI64ArrayAttr.get(cv.shape(phase)),
                                      ir.DenseI64ArrayAttr.get([1, *s, 1, 1])).result
    return result


def _rhs_cotangent(parts, ct):
    lhs, s, d = parts.lhs, parts.strides, parts.dilations
    n = len(s)
    spatial = list(range(1, n + 1))
    lhs_t = cv.transpose(lhs, [n + 2, *spatial, n + 1, 0])  # (C, S..., G, N)
    ct_t = cv.transpose(ct, [*spatial, n + 1, 0, n + 2])  # (O..., G, N, F)
    window = cv.shape(parts.op.operands[1])[:n]
    full = cv.conv(lhs_t, ct_t, d, s)  # (C, K'..., G, F)
    sizes = cv.shape(full)
    kernel = cv.crop(full, [0] * len(sizes), [sizes[0], *window, *sizes[n + 1:]])
    return cv.transpose(kernel, [*spatial, n + 1, 0, n + 2])


def _conv_vjp(op, cts, active):
    (ct,) = cts
    parts = cv.ConvParts(op)
    ct = parts.grouped(ct, "out")
    lhs, rhs = op.operands[0], op.operands[1]
    out = []
    if lhs in active:
        out.append((lhs, parts.ungrouped(_lhs_cotangent(parts, ct), "lhs")))
    if rhs in active:
        out.append((rhs, parts.ungrouped(_rhs_cotangent(parts, ct), "rhs")))
    return out


def _conv_jvp(op, tangents):
    """conv is bilinear: conv(t_lhs, rhs) + conv(lhs, t_rhs)."""
    terms = [mlir.clone_op(op, {op.operands[i]: t}).results[0] for i, t in enumerate(tangents[:2]) if t is not None]
    return [terms[0] if len(terms) == 1 else add(*terms)]


def _conv_batch(op, batch):
    result = op.results[0].type
    if batch.size == 0:  # no member: nothing to convolve (nor a batch to split the merged axis by)
        return [tensor.EmptyOp([0] + list(result.shape), result.element_type).result]
    parts = cv.ConvParts(op)
    lhs_b, rhs_b = (batch.is_batched(v) for v in op.operands[:2])
    lhs, rhs = (batch.new.get(v, v) for v in op.operands[:2])
    n = len(parts.strides)
    size = batch.size
    # the batched copies, moved to the grouped layout (a batch axis first)
    lhs = cv.split(lhs, n + 2, [1, cv.shape(lhs)[n + 2]]) if lhs_b and parts.named else \
        (parts.grouped(lhs, "lhs") if not lhs_b else lhs)
    rhs = cv.split(rhs, n + 1, [1, cv.shape(rhs)[n + 1]]) if rhs_b and parts.named else \
        (parts.grouped(rhs, "rhs") if not rhs_b else rhs)
    spatial = list(range(1, n + 1))
    if lhs_b and not rhs_b:  # (B, N, ...) -> (B*N, ...)
        out = cv.split(cv.conv(cv.merge(lhs, 0), rhs, parts.strides, parts.dilations), 0, [size, cv.shape(lhs)[1]])
    elif rhs_b and not lhs_b:  # (B, K..., G, C, F) -> (K..., G, C, B*F)
        rhs = cv.merge(cv.transpose(rhs, [*range(1, n + 3), 0, n + 3]), n + 2)
        out = cv.conv(lhs, rhs, parts.strides, parts.dilations)  # (N, O..., G, B*F)
        out = cv.split(out, n + 2, [size, cv.shape(out)[n + 2] // size])
        out = cv.transpose(out, [n + 2, 0, *spatial, n + 1, n + 3])
    else:  # groups (B*G): lhs (N, S..., B*G, C), rhs (K..., B*G, C, F)
        lhs = cv.merge(cv.transpose(lhs, [1, *range(2, n + 2), 0, n + 2, n + 3]), n + 1)
        rhs = cv.merge(cv.transpose(rhs, [*spatial, 0, n + 1, n + 2, n + 3]), n)
        out = cv.conv(lhs, rhs, parts.strides, parts.dilations)  # (N, O..., B*G, F)
        out = cv.split(out, n + 1, [size, cv.shape(out)[n + 1] // size])
        out = cv.transpose(out, [n + 1, 0, *spatial, n + 2, n + 3])
    return [cv.merge(out, n + 2) if parts.named else out]


# ---------------------------------------------------------------------------
# Windowed reductions

def _flat(value):
    sizes = cv.shape(value)
    return cv.reshape(value, [int(np.prod(sizes, dtype=np.int64))], [list(range(len(sizes)))])


def _window_sum_vjp(parts, ct):
    rank = len(parts.window)
    x_sizes = cv.shape(parts.x)
    padded = cv.place(ct, zero_of(cv.elem_type(ct)), [d * (k - 1) for d, k in zip(parts.dilations, parts.window)],
                      parts.strides, [n + d * (k - 1) for n, d, k in zip(x_sizes, parts.dilations, parts.window)])
    init = zeros_like(parts.x)
    return cv.reduce_window(padded, init, parts.window, [1] * rank, parts.dilations, arith.addf, "sum")


# Window sizes (elements) up to which a max or min's gradient is a gather
# over x's window slices (cv.to_first_extreme: K vectorized reads per element
# of x, no scatter for vmap to serialize); bigger windows, as global pools,
# scatter (one update per window; the gather compiled for 13 s and ran 7x
# slower than the scatter on a 28x28 global pool).
_GATHERED_WINDOW = 32


def _gathered(parts):
    return int(np.prod(parts.window, dtype=np.int64)) <= _GATHERED_WINDOW


def _window_extreme_vjp(parts, ct, y):
    if _gathered(parts):
        first = cv.first_extreme_offset(parts.x, y, parts.window, parts.strides, parts.dilations, parts.monoid)
        return cv.to_first_extreme(ct, first, cv.shape(parts.x), parts.window, parts.strides, parts.dilations)
    first = cv.first_extreme(parts.x, y, parts.window, parts.strides, parts.dilations)
    count = int(np.prod(cv.shape(first), dtype=np.int64))
    targets = cv.reshape(_flat(first), [count, 1], [[0, 1]])
    summed = linalg_ext_scatter(_flat(ct), targets, _flat(zeros_like(parts.x)), arith.addf)
    sizes = cv.shape(parts.x)
    return cv.reshape(summed, sizes, [list(range(len(sizes)))])


def _window_vjp(op, cts, active):
    (ct,) = cts
    parts = cv.WindowParts(op)
    if parts.x not in active:
        return []
    if parts.monoid == "sum":
        return [(parts.x, _window_sum_vjp(parts, ct))]
    return [(parts.x, _window_extreme_vjp(parts, ct, op.results[0]))]


def _window_jvp(op, tangents):
    t = tangents[0]
    if t is None:
        return [None]
    parts = cv.WindowParts(op)
    if parts.monoid == "sum":
        return [mlir.clone_op(op, {parts.x: t}).results[0]]
    if _gathered(parts):
        first = cv.first_extreme_offset(parts.x, op.results[0], parts.window, parts.strides, parts.dilations,
                                         parts.monoid, tangent=True)
        return [cv.at_first_extreme(t, first, parts.window, parts.strides, parts.dilations)]
    first = cv.first_extreme(parts.x, op.results[0], parts.window, parts.strides, parts.dilations)
    flat = _flat(t)
    rank = len(cv.shape(first))

    def gather(i, _):
        return [tensor.ExtractOp(flat, [arith.index_cast(ir.IndexType.get(), i)]).result]

    init = tensor.EmptyOp(cv.shape(first), cv.elem_type(t)).result
    return [mlir.generic([first], [init], [list(range(rank))] * 2, [mlir.PARALLEL] * rank, gather)[0]]


def _window_batch(op, batch):
    """A window of 1 (stride 1, dilation 1) over the batch axis."""
    parts = cv.WindowParts(op)
    return [cv.reduce_window(batch.moved(parts.x), batch.moved(parts.init), [1] + parts.window, [1] + parts.strides,
                             [1] + parts.dilations, parts.combine, parts.monoid)]


def _first_extreme_batch(op, batch):
    x, y, window, strides, dilations, leading = cv.first_extreme_parts(op)
    return [cv.first_extreme(batch.moved(x), batch.moved(y), [1] + window, [1] + strides, [1] + dilations,
                             leading + 1)]


VJP_RULES = {name: _conv_vjp for name in cv.NAMED_CONVS} | {cv.CONV: _conv_vjp, cv.REDUCE_WINDOW: _window_vjp}
JVP_RULES = {name: _conv_jvp for name in cv.NAMED_CONVS} | {cv.CONV: _conv_jvp, cv.REDUCE_WINDOW: _window_jvp}
BATCH_RULES = {name: _conv_batch for name in cv.NAMED_CONVS} | {cv.CONV: _conv_batch, cv.REDUCE_WINDOW: _window_batch,
                                                             cv.FIRST_EXTREME: _first_extreme_batch}
