"""`irax.lax`'s convolutions and windowed reductions, as in JAX:
`conv_general_dilated` and its wrappers `conv`, `conv_with_general_padding`
and `conv_transpose`, `conv_dimension_numbers`, `padtype_to_pads` and
`reduce_window` (how they are emitted: primitives/convolution.py)."""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from irax import tree_util
from irax.frontend import dtypes, lax_elementwise
from irax.frontend.core import Tracer
from irax.frontend.numpy import creation, shape, ufunc_objects, ufuncs
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import convolution as prims
from irax.frontend.primitives.reductions import MONOIDS
from irax.typing import Array, ArrayLike, DTypeLike, PyTree


class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial dimensions of a convolution are.

    lhs_spec: (batch dimension, feature dimension, spatial dimensions...).
    rhs_spec: (out feature dimension, in feature dimension, spatial dimensions...).
    out_spec: (batch dimension, feature dimension, spatial dimensions...).
    """
    lhs_spec: Sequence[int]
    rhs_spec: Sequence[int]
    out_spec: Sequence[int]


ConvGeneralDilatedDimensionNumbers = Union[tuple[str, str, str], ConvDimensionNumbers, None]


def conv_general_permutations(dimension_numbers: tuple[str, str, str]) -> tuple[tuple[int, ...], ...]:
    """The (lhs, rhs, out) specs of string dimension numbers such as
    ('NHWC', 'HWIO', 'NHWC'); spatial dims in the order rhs lists them."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = ("N", "C"), ("O", "I"), ("N", "C")
    for i, (a, b) in enumerate(charpairs):
        if not dimension_numbers[i].count(a) == dimension_numbers[i].count(b) == 1:
            raise TypeError(f"convolution dimension_numbers[{i}] must contain the characters '{a}' and '{b}' "
                            f"exactly once, got {dimension_numbers[i]}.")
        if len(dimension_numbers[i]) != len(set(dimension_numbers[i])):
            raise TypeError(f"convolution dimension_numbers[{i}] cannot have duplicate characters, "
                            f"got {dimension_numbers[i]}.")
    if not set(lhs_spec) - {"N", "C"} == set(rhs_spec) - {"O", "I"} == set(out_spec) - {"N", "C"}:
        raise TypeError("convolution dimension_numbers elements must each have the same set of spatial "
                        f"characters, got {dimension_numbers}.")

    def permutation(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(permutation(spec, pair) for spec, pair in zip(dimension_numbers, charpairs))


def conv_dimension_numbers(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                           dimension_numbers: ConvGeneralDilatedDimensionNumbers) -> ConvDimensionNumbers:
    """`dimension_numbers` (None, a tuple of strings or ConvDimensionNumbers)
    as ConvDimensionNumbers; None means lax's default, ('NCHW', 'OIHW', 'NCHW')."""
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(f"convolution requires lhs and rhs ndim to be equal, got {len(lhs_shape)} and "
                        f"{len(rhs_shape)}.")
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if not isinstance(dimension_numbers, (list, tuple)):
        raise TypeError(f"convolution dimension_numbers must be tuple/list or None, got {type(dimension_numbers)}.")
    if len(dimension_numbers) != 3:
        raise TypeError(f"convolution dimension_numbers list/tuple must be length 3, got {len(dimension_numbers)}.")
    if not all(isinstance(spec, str) for spec in dimension_numbers):
        raise TypeError("convolution dimension_numbers elements must be strings, got "
                        f"{tuple(map(type, dimension_numbers))}.")
    for i, spec in enumerate(dimension_numbers):
        if len(spec) != len(lhs_shape):
            raise TypeError(f"convolution dimension_numbers[{i}] must have len equal to the ndim of lhs and rhs, "
                            f"got {len(spec)} for lhs and rhs shapes {tuple(lhs_shape)} and {tuple(rhs_shape)}.")
    return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))


def padtype_to_pads(in_shape: Sequence[int], window_shape: Sequence[int], window_strides: Sequence[int],
                    padding: str) -> list[tuple[int, int]]:
    """(low, high) padding per dim for 'VALID' (none), 'SAME' (the output
    has ceil(in / stride) elements; an odd total puts the extra one high)
    or 'SAME_LOWER' (low)."""
    kind = padding.upper() if isinstance(padding, str) else padding
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise RuntimeError(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}.")
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides):
        total = max(0, (-(-n // s) - 1) * s + w - n)
        small, large = total // 2, total - total // 2
        pads.append((small, large) if kind == "SAME" else (large, small))
    return pads


# ---------------------------------------------------------------------------
# Output shapes, computed without convolving (lax's shape helpers)

def conv_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int], strides: Sequence[int],
                     pads: str | Sequence[tuple[int, int]], batch_group_count: int = 1) -> tuple[int, ...]:
    """The output shape of a convolution of operands in lax's canonical
    layout (NC..., OI..., NC...): per spatial dim, the windows that fit in
    the padded input, (n + low + high - k) // stride + 1."""
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(f"Wrong number of explicit pads for convolution: expected {len(lhs_shape) - 2}, got {len(pads)}.")
    padded = [n + low + high for n, (low, high) in zip(lhs_shape[2:], pads)]
    if any(n < 0 for n in padded):
        raise ValueError("Negative padding is larger than the size of the corresponding dimension: "
                         f"got padding={pads} for lhs_shape[2:]={tuple(lhs_shape[2:])}")
    spatial = tuple(prims.window_out(n, k, s) for n, k, s in zip(padded, rhs_shape[2:], strides))
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + spatial


def _in_canonical_layout(shapes, dimension_numbers):
    """The lhs and rhs `shapes` permuted to NC... and OI... by the string
    `dimension_numbers`, and the permutation taking the canonical output back."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs, rhs = (tuple(int(shape[i]) for i in perm) for shape, perm in zip(shapes, (lhs_perm, rhs_perm)))
    return lhs, rhs, np.argsort(out_perm)


def conv_general_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int], window_strides: Sequence[int],
                             padding: str | Sequence[tuple[int, int]],
                             dimension_numbers: tuple[str, str, str]) -> tuple[int, ...]:
    """conv_shape_tuple for operands laid out by string `dimension_numbers` ('NHWC', 'HWIO', 'NHWC')."""
    lhs, rhs, back = _in_canonical_layout((lhs_shape, rhs_shape), dimension_numbers)
    out = conv_shape_tuple(lhs, rhs, window_strides, padding)
    return tuple(out[i] for i in back)


def conv_transpose_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int], window_strides: Sequence[int],
                               padding: str | Sequence[tuple[int, int]],
                               dimension_numbers: tuple[str, str, str]) -> tuple[int, ...]:
    """The output shape of conv_transpose: per spatial dim (n - 1) s - k + 2
    plus the transposed padding (_conv_transpose_padding)."""
    lhs, rhs, back = _in_canonical_layout((lhs_shape, rhs_shape), dimension_numbers)
    if isinstance(padding, str):
        padding = [_conv_transpose_padding(k, s, padding) for k, s in zip(rhs[2:], window_strides)]
    spatial = tuple((n - 1) * s - k + 2 + sum(p) for n, k, s, p in zip(lhs[2:], rhs[2:], window_strides, padding))
    out = (lhs[0], rhs[0]) + spatial
    return tuple(out[i] for i in back)


def reduce_window_shape_tuple(operand_shape: Sequence[int], window_dimensions: Sequence[int],
                              window_strides: Sequence[int], padding: Sequence[tuple[int, int]],
                              base_dilation: Sequence[int] | None = None,
                              window_dilation: Sequence[int] | None = None) -> tuple[int, ...]:
    """The output shape of reduce_window: the windows (dilated) that fit in the operand (dilated, then padded)."""
    ones = (1,) * len(operand_shape)
    operand = [prims.dilate_dim(n, d) for n, d in zip(operand_shape, base_dilation or ones)]
    window = [prims.dilate_dim(w, d) for w, d in zip(window_dimensions, window_dilation or ones)]
    return tuple(prims.window_out(n + low + high, w, s)
                 for n, (low, high), w, s in zip(operand, padding, window, window_strides))


def _ints(name, values, n):
    """`values` (None: all ones) as a tuple of n ints."""
    values = (1,) * n if values is None else tuple(operator.index(v) for v in values)
    if len(values) != n:
        raise ValueError(f"{name} must have {n} entries, one per spatial dimension, got {values}")
    return values


def _explicit_pads(name, padding, n):
    try:
        pads = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (ValueError, TypeError) as e:
        raise ValueError(f"padding argument to {name} should be a string or a sequence of (low, high) pairs, "
                         f"got {padding}") from e
    if len(pads) != n:
        raise TypeError(f"Wrong number of explicit pads for convolution: expected {n}, got {len(pads)}.")
    return pads


def _check_groups(lhs, rhs, dnums, feature_group_count, batch_group_count):
    """lax's checks of the group counts, with its messages."""
    lhs_features = lhs.shape[dnums.lhs_spec[1]]
    rhs_out, rhs_in = (rhs.shape[d] for d in dnums.rhs_spec[:2])
    for kind, count in (("feature_group_count", feature_group_count), ("batch_group_count", batch_group_count)):
        if not count > 0:
            raise ValueError(f"conv_general_dilated {kind} must be a positive integer, got {count}.")
    if lhs_features % feature_group_count:
        raise ValueError("conv_general_dilated feature_group_count must divide lhs feature dimension size, "
                         f"but {feature_group_count} does not divide {lhs_features}.")
    if lhs_features // feature_group_count != rhs_in:
        raise ValueError("conv_general_dilated lhs feature dimension size divided by feature_group_count must "
                         "equal the rhs input feature dimension size, but "
                         f"{lhs_features} // {feature_group_count} != {rhs_in}.")
    for kind, count in (("feature_group_count", feature_group_count), ("batch_group_count", batch_group_count)):
        if rhs_out % count:
            raise ValueError("conv_general_dilated rhs output feature dimension size must be a multiple of "
                             f"{kind}, but {rhs_out} is not a multiple of {count}.")
    lhs_batch = lhs.shape[dnums.lhs_spec[0]]
    if batch_group_count > 1 and lhs_batch % batch_group_count:
        raise ValueError("conv_general_dilated batch_group_count must divide lhs batch dimension size, but "
                         f"{batch_group_count} does not divide {lhs_batch}.")
    if batch_group_count > 1 and feature_group_count > 1:
        raise ValueError("At most one of batch_group_count and feature_group_count may be > 1, got "
                         f"batch_group_count={batch_group_count} and feature_group_count={feature_group_count}")


def conv_general_dilated(lhs: ArrayLike, rhs: ArrayLike, window_strides: Sequence[int],
                         padding: str | Sequence[tuple[int, int]], lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None,
                         dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
                         feature_group_count: int = 1, batch_group_count: int = 1, precision: Any = None,
                         preferred_element_type: DTypeLike | None = None) -> Array:
    """The general n-d convolution, as `jax.lax.conv_general_dilated`:

        out[n, f, o...] = sum_{c, k...} lhs_p[n, c, o*s + k*rd ...] * rhs[f, c, k...]

    in lax's canonical (N, C, spatial...) / (O, I, spatial...) order, where
    lhs_p is lhs dilated by `lhs_dilation` (zeros between its elements) and
    padded by `padding` ('VALID', 'SAME', 'SAME_LOWER' or (low, high) pairs,
    negative ones cropping), s the `window_strides` and rd the `rhs_dilation`.
    `dimension_numbers` place those dims ('NHWC', 'HWIO', 'NHWC'), feature
    groups convolve channel groups apart (C = G*I, O a multiple of G: group
    g makes output features g*O/G...), batch groups lhs batch groups apart.
    `precision` is accepted and ignored (float32 is computed in float32);
    `preferred_element_type` is the accumulation and result dtype."""
    del precision  # every precision computes float32 in float32 here
    lhs, rhs = asarray(lhs), asarray(rhs)
    dnums = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    if lhs.ndim != rhs.ndim:
        raise ValueError(f"conv_general_dilated lhs and rhs must have the same number of dimensions, but got "
                         f"{lhs.shape} and {rhs.shape}.")
    n = lhs.ndim - 2
    if len(window_strides) != n:
        raise ValueError("conv_general_dilated window and window_strides must have the same number of dimensions, "
                         f"but got {n} and {len(window_strides)}")
    window_strides = _ints("window_strides", window_strides, n)
    lhs_dilation = _ints("lhs_dilation", lhs_dilation, n)
    rhs_dilation = _ints("rhs_dilation", rhs_dilation, n)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError("String padding is not implemented for transposed convolution using this op. Please "
                             "either exactly specify the required padding or use conv_transpose.")
        window = [prims.dilate_dim(rhs.shape[d], r) for d, r in zip(dnums.rhs_spec[2:], rhs_dilation)]
        padding = padtype_to_pads([lhs.shape[d] for d in dnums.lhs_spec[2:]], window, window_strides, padding)
    pads = _explicit_pads("conv_general_dilated", padding, n)
    for d, (lo, hi), r in zip(dnums.lhs_spec[2:], pads, lhs_dilation):
        if prims.dilate_dim(lhs.shape[d], r) + lo + hi < 0:
            raise ValueError("Negative padding is larger than the size of the corresponding dimension: "
                             f"got padding={pads} for lhs_shape[2:]={tuple(lhs.shape[d] for d in dnums.lhs_spec[2:])}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"lax.conv_general_dilated requires arguments to have the same dtypes, got "
                        f"{lhs.dtype.name}, {rhs.dtype.name}.")
    _check_groups(lhs, rhs, dnums, operator.index(feature_group_count), operator.index(batch_group_count))
    preferred = None if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)
    return prims.conv_general_dilated.bind(
        lhs, rhs, window_strides=window_strides, padding=pads, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
        dimension_numbers=tuple(tuple(int(d) for d in spec) for spec in dnums),
        feature_group_count=int(feature_group_count), batch_group_count=int(batch_group_count),
        preferred_element_type=preferred)


def conv(lhs: ArrayLike, rhs: ArrayLike, window_strides: Sequence[int], padding: str, precision: Any = None,
         preferred_element_type: DTypeLike | None = None) -> Array:
    """conv_general_dilated in lax's default (NCHW, OIHW) layout."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs: ArrayLike, rhs: ArrayLike, window_strides: Sequence[int],
                              padding: str | Sequence[tuple[int, int]], lhs_dilation: Sequence[int] | None,
                              rhs_dilation: Sequence[int] | None, precision: Any = None,
                              preferred_element_type: DTypeLike | None = None) -> Array:
    """conv_general_dilated in lax's default (NCHW, OIHW) layout, with dilations."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k, s, padding):
    """(low, high) padding of the lhs-dilated convolution that transposes a
    forward convolution with kernel size k, stride s and `padding`."""
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"),
                      5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs: ArrayLike, rhs: ArrayLike, strides: Sequence[int], padding: str | Sequence[tuple[int, int]],
                   rhs_dilation: Sequence[int] | None = None,
                   dimension_numbers: ConvGeneralDilatedDimensionNumbers = None, transpose_kernel: bool = False,
                   precision: Any = None, preferred_element_type: DTypeLike | None = None,
                   use_consistent_padding: bool = False) -> Array:
    """The fractionally strided convolution, as `jax.lax.conv_transpose`: lhs
    dilated by `strides` and convolved with stride 1. 'SAME'/'VALID' (and,
    with `use_consistent_padding`, pairs) are the forward convolution's
    padding; `transpose_kernel` flips the kernel's spatial dims and swaps its
    feature dims, which makes this the gradient of that convolution."""
    lhs, rhs = asarray(lhs), asarray(rhs)
    if dimension_numbers is None:
        if lhs.ndim not in _TRANSPOSE_LAYOUTS:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = _TRANSPOSE_LAYOUTS[lhs.ndim]
    dnums = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    n = lhs.ndim - 2
    rhs_dilation = _ints("rhs_dilation", rhs_dilation, n)
    if use_consistent_padding or (isinstance(padding, str) and padding in {"SAME", "VALID"}):
        windows = [prims.dilate_dim(rhs.shape[d], r) for d, r in zip(dnums.rhs_spec[2:], rhs_dilation)]
        per_dim = [padding] * len(strides) if isinstance(padding, str) else [tuple(p) for p in padding]
        padding = [_conv_transpose_padding(k, s, p) for k, s, p in zip(windows, strides, per_dim)]
    if transpose_kernel:
        rhs = shape.flip(rhs, tuple(dnums.rhs_spec[2:]))
        rhs = shape.swapaxes(rhs, dnums.rhs_spec[0], dnums.rhs_spec[1])
    return conv_general_dilated(lhs, rhs, (1,) * n, padding, strides, rhs_dilation, dnums, precision=precision,
                                preferred_element_type=preferred_element_type)


# ---------------------------------------------------------------------------
# reduce_window

def _padded_with(x, init, pads, base_dilation):
    """`x` dilated by `base_dilation` and padded by `pads` (negative ones
    crop), the new elements `init`, as lax.pad with interior padding; and
    the NumPy mask of x's own elements in it."""
    low = [max(lo, 0) for lo, _ in pads]
    dilated = [prims.dilate_dim(n, b) for n, b in zip(x.shape, base_dilation)]
    total = [lo + n + max(hi, 0) for lo, n, (_, hi) in zip(low, dilated, pads)]
    inside = tuple(slice(lo, lo + n, b) for lo, n, b in zip(low, dilated, base_dilation))
    real = np.zeros(total, bool)
    real[inside] = True
    if total != list(x.shape):
        x = creation.full(total, init, x.dtype).at[inside].set(x)
    kept = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(total, pads))
    return x[kept], real[kept]


def _fold_windows(xs, inits, combine, window_dimensions, window_strides, pads, base_dilation, window_dilation):
    """reduce_window for any `combine` (lists of arrays to a list) and initial
    values: `inits` combined with each window offset's strided slices of the
    operands `xs` in turn (where they hold the operands' own elements: JAX's
    windows skip padding and dilation holes), so autodiff and vmap see
    ordinary elementwise ops, slices and selects."""
    padded = [_padded_with(x, init, pads, base_dilation) for x, init in zip(xs, inits)]
    real = padded[0][1]
    padded = [p for p, _ in padded]
    out_shape = [prims.window_out(n, prims.dilate_dim(w, d), s)
                 for n, w, d, s in zip(real.shape, window_dimensions, window_dilation, window_strides)]
    totals = [shape.broadcast_to(init, out_shape) for init in inits]
    # No windows, no offsets to fold (a slice of no windows would end before it starts, wrapping around).
    offsets = np.ndindex(*window_dimensions) if 0 not in out_shape else ()
    for offset in offsets:
        starts = [k * d for k, d in zip(offset, window_dilation)]
        at = tuple(slice(a, a + (n - 1) * s + 1, s) for a, n, s in zip(starts, out_shape, window_strides))
        if real[at].all():
            totals = combine(totals, [x[at] for x in padded])
        elif real[at].any():
            combined = combine(totals, [x[at] for x in padded])
            totals = [ufuncs.where(real[at], c, t) for c, t in zip(combined, totals)]
    # Where no window held an operand element, a total is still its init, maybe weak: JAX's result is strong.
    return [lax_elementwise.convert_element_type(t, x.dtype) for t, x in zip(totals, xs)]


# The computations reduce_window recognizes, and the monoid each is (lax's
# own are other functions than jnp's: JAX's examples pass lax.max).
_MONOID_FUNCTIONS = {ufuncs.add: "sum", ufuncs.maximum: "max", ufuncs.minimum: "min",
                     lax_elementwise.add: "sum", lax_elementwise.max: "max", lax_elementwise.min: "min"}


def _is_identity(init_value, monoid, dtype):
    """Whether `init_value` is a known value equal to the monoid's identity,
    as JAX asks before it takes the one-op path (a traced one never is)."""
    if isinstance(init_value, Tracer):
        return False
    return bool(np.asarray(init_value) == MONOIDS[monoid][1](dtype))


def reduce_window(operand: PyTree, init_value: PyTree, computation: Callable, window_dimensions: Sequence[int],
                  window_strides: Sequence[int] | None = None, padding: str | Sequence[tuple[int, int]] = "VALID",
                  base_dilation: Sequence[int] | None = None,
                  window_dilation: Sequence[int] | None = None) -> PyTree:
    """`computation` over the windows of `operand` padded with `init_value`,
    as `jax.lax.reduce_window`:

        out[o...] = init ⊕ x_p[o*s + k*wd ...] ⊕ ...   over the window k

    where x_p is the operand dilated by `base_dilation` and padded. lax.add,
    lax.max and lax.min (or jnp.add, jnp.maximum, jnp.minimum) with their
    identity as `init_value` reduce each window in one op, whose gradient
    for max and min goes to the first extreme element of each window, as
    JAX's select-and-scatter does; any other computation is folded over the
    window offsets. `operand` and `init_value` may be pytrees of one
    structure (arrays of one shape), which `computation` takes and returns."""
    flat, tree = tree_util.tree_flatten(operand)
    flat_inits, init_tree = tree_util.tree_flatten(init_value)
    if tree != init_tree:
        raise ValueError(f"Operands must have the same tree structure as init_values: {tree} vs. {init_tree}")
    if not flat:
        raise ValueError("reduce_window must have at least one operand.")
    xs = [asarray(x) for x in flat]
    if len({x.shape for x in xs}) > 1:
        raise ValueError(f"reduce_window operands must have one shape, got {[x.shape for x in xs]}")
    x = xs[0]
    n = x.ndim
    window_dimensions = _ints("window_dimensions", window_dimensions, n)
    window_strides = _ints("window_strides", window_strides, n)
    base_dilation = _ints("base_dilation", base_dilation, n)
    window_dilation = _ints("window_dilation", window_dilation, n)
    if isinstance(padding, str):  # (JAX pads for the operand's own shape, before its base dilation)
        windows = [prims.dilate_dim(w, d) for w, d in zip(window_dimensions, window_dilation)]
        padding = padtype_to_pads(x.shape, windows, window_strides, padding)
    pads = _explicit_pads("reduce_window", padding, n)
    inits = [asarray(v) for v in flat_inits]
    for init in inits:
        if init.ndim != 0:
            raise TypeError(f"reduce_window: init_value must be a scalar, got shape {init.shape}")
    function = ufunc_objects.plain_function(computation)
    monoid = _MONOID_FUNCTIONS.get(function)
    if tree_util.treedef_is_leaf(tree) and monoid is not None and _is_identity(init_value, monoid, x.dtype):
        if function is lax_elementwise.add and dtypes.is_bool(x.dtype):  # (jnp.add of bools is or; lax's refuses them)
            raise TypeError("operand to reduce_window_sum must have a number dtype, got bool")
        return prims.reduce_window.bind(x, monoid=monoid, window_dimensions=window_dimensions,
                                        window_strides=window_strides, padding=pads, base_dilation=base_dilation,
                                        window_dilation=window_dilation)
    if any(init.dtype != x.dtype for init, x in zip(inits, xs)):
        names = lambda arrays: ", ".join(f"dtype('{a.dtype.name}')" for a in arrays)  # noqa: E731
        raise TypeError("reduce_window got inconsistent dtypes for operands and init_values: got operand dtypes "
                        f"[{names(xs)}] and init_value dtypes [{names(inits)}].")

    def combine(totals, slices):
        out, out_tree = tree_util.tree_flatten(computation(tree_util.tree_unflatten(tree, totals),
                                                           tree_util.tree_unflatten(tree, slices)))
        if out_tree != tree:
            raise ValueError(f"reduce_window output must have the same tree structure as the operands {tree} "
                             f"vs. {out_tree}")
        return out

    out = _fold_windows(xs, inits, combine, window_dimensions, window_strides, pads, base_dilation, window_dilation)
    return tree_util.tree_unflatten(tree, out)
