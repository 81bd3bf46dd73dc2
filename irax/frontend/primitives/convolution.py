"""`conv_general_dilated` and the monoid `reduce_window`s, as lax has them.

A convolution is emitted as the one layout of irax/ir/convolution.py:

    lhs   (dimension_numbers' layout)  -> (N, S..., C)    a transpose
          dilated by lhs_dilation and padded           an insert into zeros
          C = G*Cg                     -> (N, S..., G, Cg)
    rhs   O = G*Fg                     -> (K..., G, I, Fg)
    out   (N, O..., G, Fg) -> (N, O..., F) -> the output layout

where G is the feature_group_count, or the batch_group_count, whose groups
take the lhs batch apart instead: N = G*Nb -> (Nb, S..., G, C), output
feature g*Fg + f from batch group g. Half-precision operands accumulate in
float32, and `preferred_element_type` is the accumulator and result dtype.

reduce_window with lax.add, lax.max or lax.min and their identity as the
initial value pads the operand with that identity (and dilates it by
`base_dilation`) and reduces each window in one generic.
"""
from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.scalar_rules import BINARY
from irax.frontend.primitives.reductions import MONOIDS, accumulator_dtype, cast
from irax.ir import convolution, mlir


def dilate_dim(size, dilation):
    return 0 if size == 0 else 1 + dilation * (size - 1)


def window_out(size, window, stride):
    return max(0, (size - window) // stride + 1)


def _conv_eval(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
               feature_group_count, batch_group_count, preferred_element_type):
    """lax's shape rule, with its errors (checked in the public function
    first, where the messages name its arguments)."""
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"lax.conv_general_dilated requires arguments to have the same dtypes, got "
                        f"{lhs.dtype.name}, {rhs.dtype.name}.")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    batch = lhs.shape[lhs_spec[0]] // batch_group_count
    spatial = [window_out(dilate_dim(lhs.shape[d], ld) + lo + hi, dilate_dim(rhs.shape[k], rd), s)
               for d, k, ld, rd, (lo, hi), s in zip(lhs_spec[2:], rhs_spec[2:], lhs_dilation, rhs_dilation,
                                                    padding, window_strides)]
    canonical = [batch, rhs.shape[rhs_spec[0]]] + spatial
    shape = [canonical[out_spec.index(d)] for d in range(len(out_spec))]
    return ShapedArray(shape, preferred_element_type or lhs.dtype)


def _padded(x, low_high, dilation, spatial_dims, fill):
    """`x` dilated (interior padding) and padded on its `spatial_dims`, as
    lax.pad with (low, high, dilation - 1) does; negative padding crops."""
    shape = convolution.shape(x)
    low, strides, total = [0] * len(shape), [1] * len(shape), list(shape)
    for d, (lo, hi), r in zip(spatial_dims, low_high, dilation):
        low[d], strides[d], total[d] = max(lo, 0), r, dilate_dim(shape[d], r) + max(lo, 0) + max(hi, 0)
    x = convolution.place(x, fill, low, strides, total)
    start, sizes = [0] * len(shape), list(total)
    for d, (lo, hi) in zip(spatial_dims, low_high):
        start[d], sizes[d] = max(-lo, 0), total[d] - max(-lo, 0) - max(-hi, 0)
    return convolution.crop(x, start, sizes)


def _conv_emit(ctx, lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
               feature_group_count, batch_group_count, preferred_element_type):
    in_dtype, out_dtype = ctx.avals_in[0].dtype, ctx.avals_out[0].dtype
    acc = dtypes.int32 if dtypes.is_bool(out_dtype) else accumulator_dtype("sum", out_dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    n = len(window_strides)
    spatial = list(range(1, n + 1))
    lhs = convolution.transpose(cast(lhs, in_dtype, acc), [lhs_spec[0], *lhs_spec[2:], lhs_spec[1]])
    lhs = _padded(lhs, padding, lhs_dilation, spatial, mlir.scalar_constant(0, acc))
    groups = max(feature_group_count, batch_group_count)
    batch, *_, features = convolution.shape(lhs)
    if batch_group_count > 1:  # (G*Nb, S..., C) -> (Nb, S..., G, C)
        lhs = convolution.split(lhs, 0, [groups, batch // groups])
        lhs = convolution.transpose(lhs, [1, *range(2, n + 2), 0, n + 2])
    else:  # (N, S..., G*Cg) -> (N, S..., G, Cg)
        lhs = convolution.split(lhs, n + 1, [groups, features // groups])
    # rhs: O -> (G, Fg), then (K..., G, I, Fg)
    o, i = rhs_spec[0], rhs_spec[1]
    rhs = convolution.split(cast(rhs, in_dtype, acc), o, [groups, ctx.avals_in[1].shape[o] // groups])
    after = lambda d: d + 1 if d > o else d  # noqa: E731  (rhs dims after the split O)
    rhs = convolution.transpose(rhs, [after(d) for d in rhs_spec[2:]] + [o, after(i), o + 1])
    out = convolution.conv(lhs, rhs, window_strides, rhs_dilation)
    out = convolution.merge(out, n + 1)  # (N, O..., F)
    canonical = [0, n + 1, *spatial]  # where lax's (N, F, O...) sit in it
    out = convolution.transpose(out, [canonical[out_spec.index(d)] for d in range(n + 2)])
    return [cast(out, acc, out_dtype)]


conv_general_dilated = Primitive("conv_general_dilated", _conv_eval, _conv_emit)


def _reduce_window_eval(x, *, monoid, window_dimensions, window_strides, padding, base_dilation, window_dilation):
    shape = [window_out(dilate_dim(n, b) + lo + hi, dilate_dim(w, wd), s)
             for n, w, s, (lo, hi), b, wd in zip(x.shape, window_dimensions, window_strides, padding, base_dilation,
                                                 window_dilation)]
    return ShapedArray(shape, x.dtype)


def _reduce_window_emit(ctx, x, *, monoid, window_dimensions, window_strides, padding, base_dilation,
                        window_dilation):
    dtype = ctx.avals_in[0].dtype
    rule, identity = MONOIDS[monoid]
    fill = mlir.scalar_constant(identity(dtype), dtype)
    x = _padded(x, padding, base_dilation, range(ctx.avals_in[0].ndim), fill)
    init = mlir.fill(fill, list(ctx.avals_out[0].shape), dtype)
    combine = BINARY[rule]
    return [convolution.reduce_window(x, init, window_dimensions, window_strides, window_dilation,
                                      lambda a, total: combine(dtype, total, a), monoid)]


reduce_window = Primitive("reduce_window", _reduce_window_eval, _reduce_window_emit)
