"""Statistics, differences and counting in `irax.numpy`, composed of the
reductions, ufuncs and indexing (JAX's definitions, so dtypes agree):

    average         sum(w a) / sum(w)        ptp   max - min
    diff            a[1:] - a[:-1], n times  ediff1d   diff of the flattened array
    gradient        (f[i+1] - f[i-1]) / 2h inside, one-sided at the edges
                    (spacings h_i: the second-order three-point formula)
    trapezoid       sum((y[i+1] + y[i]) / 2 dx_i)
    convolve        out[k] = sum_j a[j] v[k - j]: a gather of the padded `a`
                    by a host table of windows, dotted with the reversed `v`
    interp          fp[i-1] + (x - xp[i-1]) (fp[i] - fp[i-1]) / (xp[i] - xp[i-1])
    cov             X X^T / (N - ddof) of the centred rows (weights: numpy.cov's)
    histogram       counts per bin: a scatter-add at searchsorted(edges, a)
    bincount        a scatter-add at x; its length is data unless `length` says it
"""
from __future__ import annotations

import builtins
import operator
from collections.abc import Sequence

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.numpy import complex_parts, creation, linalg, reductions, sorting, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.index_tricks import ix_, ravel_multi_index
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, promote_args, promote_args_inexact
from irax.frontend.primitives.elementwise import binary
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def _slice(a, axis, start, stop):
    return a[(slice(None),) * axis + (slice(start, stop),)]


def average(a: ArrayLike, axis: Axis = None, weights: ArrayLike | None = None, returned: bool = False,
            keepdims: bool = False) -> Array | tuple[Array, Array]:
    """sum(w a) / sum(w) over `axis` (the mean when weights is None); with
    `returned`, also sum(w). 1-D weights apply along the single `axis`."""
    check_arraylike("average", a)
    a = asarray(a)
    if weights is None:
        avg = reductions.mean(a, axis, keepdims=keepdims)
        total = creation.full_like(avg, a.size // max(avg.size, 1) if a.size else 0)
        return (avg, total) if returned else avg
    a, weights = promote_args_inexact("average", a, weights)
    if weights.shape != a.shape:
        if axis is None:
            raise ValueError("Axis must be specified when shapes of a and weights differ.")
        if weights.ndim != 1:
            raise ValueError("1D weights expected when shapes of a and weights differ.")
        axis = canonicalize_axis("average", operator.index(axis), a.ndim)
        if weights.shape[0] != a.shape[axis]:
            raise ValueError("Length of weights not compatible with specified axis.")
        weights = shape_ops.reshape(weights, [-1 if i == axis else 1 for i in range(a.ndim)])
        weights = shape_ops.broadcast_to(weights, a.shape)
    total = reductions.sum(weights, axis, keepdims=keepdims)
    avg = ufuncs.divide(reductions.sum(ufuncs.multiply(a, weights), axis, keepdims=keepdims), total)
    return (avg, total) if returned else avg


def ptp(a: ArrayLike, axis: Axis = None, out: None = None, keepdims: bool = False) -> Array:
    """max - min over `axis` (peak to peak)."""
    return ufuncs.subtract(reductions.max(a, axis, out, keepdims), reductions.min(a, axis, keepdims=keepdims))


def count_nonzero(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Array:
    """The number of nonzero elements over `axis`, in the default integer."""
    check_arraylike("count_nonzero", a)
    return reductions.sum(ufuncs.not_equal(a, 0), axis, dtypes.default_int_dtype(), keepdims=keepdims)


def _cumulative_api(name, what, plain, identity, widen):
    def fn(x: ArrayLike, /, *, axis: int | None = None, dtype: DTypeLike | None = None,
           include_initial: bool = False) -> Array:
        check_arraylike(name, x)
        x = asarray(x)
        if dtype is None and widen:
            dtype = reductions._promote_integer(x.dtype)
        if x.ndim == 0:
            raise ValueError(f"The input must be non-scalar to take a {what}, however a scalar value or scalar "
                             "array was given.")
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"The input array has rank {x.ndim}, however axis was not set to an explicit value. "
                                 "The axis argument is only optional for one-dimensional arrays.")
            axis = 0
        axis = canonicalize_axis(name, operator.index(axis), x.ndim)
        out = plain(x, axis, dtype)
        if not include_initial:
            return out
        widths = [(1, 0) if i == axis else (0, 0) for i in range(x.ndim)]
        return shape_ops.pad(out, widths, constant_values=identity)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The Array API's `{plain.__name__}` along `axis` (required beyond 1-D); "
                  f"include_initial puts the initial {identity} first.")
    return fn


# JAX widens narrow integers' running sum (as sum's), not their running product.
cumulative_sum = _cumulative_api("cumulative_sum", "cumulative sum", reductions.cumsum, 0, widen=True)
cumulative_prod = _cumulative_api("cumulative_prod", "cumulative product", reductions.cumprod, 1, widen=False)


def diff(a: ArrayLike, n: int = 1, axis: int = -1, prepend: ArrayLike | None = None,
         append: ArrayLike | None = None) -> Array:
    """The n-th difference along `axis`: a[1:] - a[:-1], n times (bools:
    a[1:] != a[:-1]), after `prepend` and `append` are joined on."""
    check_arraylike("diff", a)
    a = asarray(a)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if a.ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = canonicalize_axis("diff", axis, a.ndim)
    edge = a.shape[:axis] + (1,) + a.shape[axis + 1:]  # where a scalar prepend or append goes
    pieces = [a if p is a else shape_ops.broadcast_to(p, edge) if np.ndim(p) == 0 else asarray(p)
              for p in (prepend, a, append) if p is not None]
    a = shape_ops.concatenate(pieces, axis) if len(pieces) > 1 else a
    step = ufuncs.not_equal if dtypes.is_bool(a.dtype) else ufuncs.subtract
    for _ in range(n):
        a = step(_slice(a, axis, 1, None), _slice(a, axis, None, -1))
    return a


def ediff1d(ary: ArrayLike, to_end: ArrayLike | None = None, to_begin: ArrayLike | None = None) -> Array:
    """The differences of the flattened array, with to_begin and to_end joined on."""
    check_arraylike("ediff1d", ary)
    flat = shape_ops.ravel(ary)
    pieces = [ufuncs.subtract(flat[1:], flat[:-1])]
    if to_begin is not None:
        pieces.insert(0, shape_ops.ravel(asarray(to_begin, flat.dtype)))
    if to_end is not None:
        pieces.append(shape_ops.ravel(asarray(to_end, flat.dtype)))
    return shape_ops.concatenate(pieces)


def gradient(f: ArrayLike, *varargs: ArrayLike, axis: int | Sequence[int] | None = None,
             edge_order: int | None = None) -> Array | list[Array]:
    """df/dx_i along each axis by central differences inside, one-sided at
    the two edges; a spacing is a scalar h or the coordinates x (then the
    three-point formula of unequal steps d1, d2:
    -d2/(d1 (d1+d2)) f[i-1] + (d2-d1)/(d1 d2) f[i] + d1/(d2 (d1+d2)) f[i+1])."""
    if edge_order is not None:
        raise NotImplementedError("The 'edge_order' argument to jnp.gradient is not supported.")
    a, *varargs = promote_args_inexact("gradient", f, *varargs)  # (together, as JAX: uint8 steps would wrap)
    axes = tuple(range(a.ndim)) if axis is None else tuple(
        canonicalize_axis("gradient", i, a.ndim) for i in ((axis,) if np.ndim(axis) == 0 else axis))
    if not axes:
        return []
    if min(a.shape[i] for i in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least 2 elements are required.")
    if len(varargs) not in (0, 1, len(axes)):
        raise TypeError(f"Invalid number of spacing arguments {len(varargs)} for {axis=}")
    spacings = list(varargs) * (len(axes) // max(len(varargs), 1)) or [1.0] * len(axes)
    grads = [_gradient_along(a, h, ax) for ax, h in zip(axes, spacings)]
    return grads[0] if len(axes) == 1 else grads


def _gradient_along(a, h, axis):
    def part(x, start, stop):
        return _slice(x, axis, start, stop)

    first = ufuncs.subtract(part(a, 1, 2), part(a, 0, 1))
    last = ufuncs.subtract(part(a, -1, None), part(a, -2, -1))
    if np.ndim(h) == 0:
        inner = ufuncs.divide(ufuncs.multiply(ufuncs.subtract(part(a, 2, None), part(a, None, -2)), 0.5), h)
        first, last = ufuncs.divide(first, h), ufuncs.divide(last, h)
    elif np.ndim(h) == 1:
        if len(h) != a.shape[axis]:
            raise ValueError("Spacing arrays must have the same length as the dimension along which "
                             "the gradient is calculated.")
        x = shape_ops.reshape(asarray(h), [-1 if i == axis else 1 for i in range(a.ndim)])
        first = ufuncs.divide(first, ufuncs.subtract(part(x, 1, 2), part(x, 0, 1)))
        last = ufuncs.divide(last, ufuncs.subtract(part(x, -1, None), part(x, -2, -1)))
        d1 = ufuncs.subtract(part(x, 1, -1), part(x, 0, -2))
        d2 = ufuncs.subtract(part(x, 2, None), part(x, 1, -1))
        c0 = ufuncs.divide(ufuncs.negative(d2), ufuncs.multiply(d1, ufuncs.add(d1, d2)))
        c1 = ufuncs.divide(ufuncs.subtract(d2, d1), ufuncs.multiply(d1, d2))
        c2 = ufuncs.divide(d1, ufuncs.multiply(d2, ufuncs.add(d1, d2)))
        inner = ufuncs.add(ufuncs.add(ufuncs.multiply(c0, part(a, 0, -2)), ufuncs.multiply(c1, part(a, 1, -1))),
                           ufuncs.multiply(c2, part(a, 2, None)))
    else:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    return shape_ops.concatenate([first, inner, last], axis)


def trapezoid(y: ArrayLike, x: ArrayLike | None = None, dx: ArrayLike = 1.0, axis: int = -1) -> Array:
    """The trapezoidal rule along `axis`: sum((y[i+1] + y[i]) / 2 dx_i), with
    dx_i = diff(x) when the sample points x are given."""
    y, *x = promote_args_inexact("trapezoid", y, *([] if x is None else [x]))  # (together, as JAX)
    axis = canonicalize_axis("trapezoid", axis, y.ndim)
    if x:
        (x,) = x
        dx = diff(x, axis=axis if x.ndim == y.ndim else -1)
        if x.ndim == 1:
            dx = shape_ops.reshape(dx, [-1 if i == axis else 1 for i in range(y.ndim)])
    mid = ufuncs.add(_slice(y, axis, 1, None), _slice(y, axis, None, -1))
    return ufuncs.multiply(0.5, reductions.sum(ufuncs.multiply(dx, mid), axis))


def unwrap(p: ArrayLike, discont: ArrayLike | None = None, axis: int = -1, period: ArrayLike = 2 * np.pi) -> Array:
    """p with every jump |d| > max(discont, period / 2) between neighbours
    along `axis` replaced by its equivalent mod period in [-period/2,
    period/2) (+period/2 for a positive jump of exactly half a period):
    the corrections accumulate along the axis. Integers with an integer
    period stay integers, as in JAX (half a period rounded down)."""
    p, period = promote_args("unwrap", p, period)
    if dtypes.is_complex(p.dtype):
        raise ValueError("jnp.unwrap does not support complex inputs.")
    axis = canonicalize_axis("unwrap", axis, p.ndim)
    if p.shape[axis] == 0:
        return p
    discont = ufuncs.divide(period, 2) if discont is None else discont
    half = (ufuncs.floor_divide if dtypes.is_int(p.dtype) else ufuncs.divide)(period, 2)
    dd = diff(p, axis=axis)
    ddmod = ufuncs.subtract(ufuncs.remainder(ufuncs.add(dd, half), period), half)
    ddmod = ufuncs.where(ufuncs.logical_and(ufuncs.equal(ddmod, ufuncs.negative(half)), ufuncs.greater(dd, 0)),
                         half, ddmod)
    correction = ufuncs.where(ufuncs.less(ufuncs.abs(dd), discont), 0, ufuncs.subtract(ddmod, dd))
    rest = ufuncs.add(_slice(p, axis, 1, None), reductions.cumsum(correction, axis))
    return shape_ops.concatenate([_slice(p, axis, None, 1), rest], axis)


# ---------------------------------------------------------------------------
# Convolution of sequences

# mode -> (zeros before `a`, the first output, for len(a) = n >= len(v) = m): 'full'
# is every overlap, 'same' the n centred ones, 'valid' the n - m + 1 full ones
_CONVOLVE_MODES = {"full": lambda n, m: (0, n + m - 1), "same": lambda n, m: ((m - 1) // 2, n),
                   "valid": lambda n, m: (m - 1, n - m + 1)}


def _convolve(name, a, v, mode, reverse_v, preferred_element_type):
    check_arraylike(name, a, v)
    # (JAX: integers stay integers when the caller names the accumulator's dtype)
    a, v = (promote_args_inexact if preferred_element_type is None else promote_args)(name, a, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{name}() only support 1-dimensional inputs.")
    if a.size == 0 or v.size == 0:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {a.shape} and {v.shape}.")
    if mode not in _CONVOLVE_MODES:
        raise ValueError(f"mode must be one of {list(_CONVOLVE_MODES)}, got {mode!r}")
    swapped = v.shape[0] > a.shape[0]
    if swapped:
        a, v = v, a
    if not reverse_v:  # convolve: out[k] = sum_j a[k + j] v[m - 1 - j]
        v = shape_ops.flip(v)
    elif swapped:  # correlate(a, v) is flip(correlate(v, a)) conjugated: its conj moves to the other operand
        a = complex_parts.conj(a)
    else:  # correlate: out[k] = sum_j a[k + j] conj(v[j]), as NumPy and JAX
        v = complex_parts.conj(v)
    n, m = a.shape[0], v.shape[0]
    start, length = _CONVOLVE_MODES[mode](n, m)
    padded = shape_ops.pad(a, (m - 1, m - 1))
    windows = (start + np.arange(length)[:, None] + np.arange(m)[None, :]).astype(np.int32)
    out = linalg.matmul(padded[windows], v, preferred_element_type=preferred_element_type)
    return shape_ops.flip(out) if swapped and reverse_v else out


def convolve(a: ArrayLike, v: ArrayLike, mode: str = "full", *, precision: None = None,
             preferred_element_type: DTypeLike | None = None) -> Array:
    """out[k] = sum_j a[j] v[k - j], for every overlap ('full'), the
    max(len) centred ones ('same') or the complete ones ('valid')."""
    return _convolve("convolve", a, v, mode, reverse_v=False, preferred_element_type=preferred_element_type)


def correlate(a: ArrayLike, v: ArrayLike, mode: str = "valid", *, precision: None = None,
              preferred_element_type: DTypeLike | None = None) -> Array:
    """out[k] = sum_j a[k + j] conj(v[j]): convolve with v reversed (the
    output reversed when v is the longer, as NumPy)."""
    return _convolve("correlate", a, v, mode, reverse_v=True, preferred_element_type=preferred_element_type)


# ---------------------------------------------------------------------------
# Interpolation and covariance

def interp(x: ArrayLike, xp: ArrayLike, fp: ArrayLike, left: ArrayLike | str | None = None,
           right: ArrayLike | str | None = None, period: ArrayLike | None = None) -> Array:
    """The piecewise-linear interpolant through (xp, fp) at x; `left`/`right`
    (default fp[0], fp[-1]) outside, or 'extrapolate': the end segments
    continued; with `period`, x and xp are taken modulo it and the table
    wraps around."""
    check_arraylike("interp", x, xp, fp)
    for side, value in (("left", left), ("right", right)):
        if isinstance(value, str) and value != "extrapolate":
            raise ValueError(f"the only valid string value of `{side}` is 'extrapolate', but got: {value!r}")
    # (as JAX: fp is promoted on its own, so the result is their common dtype: float16 x with int fp is float32)
    x, xp = promote_args_inexact("interp", x, xp)
    (fp,) = promote_args_inexact("interp", fp)
    if xp.ndim != 1 or fp.ndim != 1 or xp.shape != fp.shape or xp.shape[0] == 0:
        raise ValueError("xp and fp must be one-dimensional arrays of equal, nonzero size")
    if dtypes.issubdtype(x.dtype, np.complexfloating):
        raise ValueError("jnp.interp: complex x values not supported.")
    if period is not None:
        period = ufuncs.abs(asarray(period, x.dtype))
        x = ufuncs.remainder(x, period)
        xp = ufuncs.remainder(xp, period)
        order = sorting.argsort(xp)
        xp, fp = xp[order], fp[order]
        xp = shape_ops.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = shape_ops.concatenate([fp[-1:], fp, fp[:1]])
    i = ufuncs.clip(sorting.searchsorted(xp, x, side="right"), 1, xp.shape[0] - 1)
    dx = ufuncs.subtract(xp[i], xp[i - 1])
    delta = ufuncs.subtract(x, xp[i - 1])
    step = ufuncs.where(ufuncs.equal(dx, 0), 0, ufuncs.divide(delta, ufuncs.where(ufuncs.equal(dx, 0), 1, dx)))
    f = ufuncs.add(fp[i - 1], ufuncs.multiply(step, ufuncs.subtract(fp[i], fp[i - 1])))
    if period is None and left != "extrapolate":
        f = ufuncs.where(ufuncs.less(x, xp[0]), fp[0] if left is None else left, f)
    if period is None and right != "extrapolate":
        f = ufuncs.where(ufuncs.greater(x, xp[-1]), fp[-1] if right is None else right, f)
    return f


def _sample_weights(name, weights, n):
    """cov's fweights or aweights: one per sample (fweights integers), with
    JAX's errors (NumPy's types)."""
    check_arraylike("cov", weights)
    weights = asarray(weights)
    if weights.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if weights.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if name == "fweights" and not dtypes.is_int(weights.dtype):
        raise TypeError("fweights must be integer.")
    return weights


def cov(m: ArrayLike, y: ArrayLike | None = None, rowvar: bool = True, bias: bool = False, ddof: int | None = None,
        fweights: ArrayLike | None = None, aweights: ArrayLike | None = None, dtype: DTypeLike | None = None) -> Array:
    """The covariance of the variables (rows, or columns if not `rowvar`):
    X X^T / fact of the rows centred on their (weighted) average, with
    fact = N - ddof, or numpy.cov's weighted normalizer; computed in `dtype` if given."""
    check_arraylike("cov", m)
    (x,) = promote_args_inexact("cov", m if dtype is None else asarray(m, dtype))
    if x.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    x = shape_ops.atleast_2d(x)
    if not rowvar and x.shape[0] != 1:
        x = shape_ops.transpose(x)
    if y is not None:
        (yy,) = promote_args_inexact("cov", y)
        yy = shape_ops.atleast_2d(yy)
        if not rowvar and yy.shape[0] != 1:
            yy = shape_ops.transpose(yy)
        x, yy = promote_args_inexact("cov", x, yy)
        x = shape_ops.concatenate([x, yy], 0)
    ddof = (0 if bias else 1) if ddof is None else operator.index(ddof)
    # |weights|, as JAX (NumPy rejects negative ones; traced ones can't be checked)
    fweights = None if fweights is None else ufuncs.abs(_sample_weights("fweights", fweights, x.shape[1]))
    aweights = None if aweights is None else ufuncs.abs(_sample_weights("aweights", aweights, x.shape[1]))
    w = fweights if aweights is None else aweights if fweights is None else ufuncs.multiply(fweights, aweights)
    avg, w_sum = average(x, axis=1, weights=w, returned=True)
    if w is None:
        fact = x.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum[0]
    elif aweights is None:
        fact = w_sum[0] - ddof
    else:
        fact = w_sum[0] - ddof * reductions.sum(ufuncs.multiply(w, aweights)) / w_sum[0]
    centred = ufuncs.subtract(x, avg[:, None])
    weighted = complex_parts.conj(centred if w is None else ufuncs.multiply(centred, w))
    return shape_ops.squeeze(ufuncs.divide(linalg.matmul(centred, shape_ops.transpose(weighted)), fact))


def corrcoef(x: ArrayLike, y: ArrayLike | None = None, rowvar: bool = True, dtype: DTypeLike | None = None) -> Array:
    """cov / (std_i std_j), clipped to [-1, 1] (complex: each part)."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return ufuncs.divide(c, c)
    variances = reductions.sum(ufuncs.where(creation.eye(c.shape[0], dtype=bool), c, 0), axis=1)
    stddev = ufuncs.sqrt(complex_parts.real(variances)).astype(c.dtype)
    c = ufuncs.divide(ufuncs.divide(c, stddev[:, None]), stddev[None, :])
    if not dtypes.is_complex(c.dtype):
        return ufuncs.clip(c, -1, 1)
    # (complex: each part clipped, as JAX; there is no order to clip by)
    return binary["complex"].bind(ufuncs.clip(complex_parts.real(c), -1, 1), ufuncs.clip(complex_parts.imag(c), -1, 1))


# ---------------------------------------------------------------------------
# Counting

def histogram_bin_edges(a: ArrayLike, bins: ArrayLike = 10, range: Sequence[ArrayLike] | None = None,  # noqa: A002
                        weights: ArrayLike | None = None) -> Array:
    """`bins` + 1 equal bins over `range` (default [min(a), max(a)], widened
    by 0.5 each way when that is a point), or the given edges."""
    check_arraylike("histogram_bin_edges", a)
    (a,) = promote_args_inexact("histogram_bin_edges", a)
    if np.ndim(bins) == 1:
        return asarray(bins, a.dtype)
    n = operator.index(bins)
    if range is not None and np.shape(range) != (2,):
        raise ValueError(f"`range` must be either None or a sequence of scalars, got {range}")
    lo, hi = (reductions.min(a), reductions.max(a)) if range is None else (asarray(range[0], a.dtype),
                                                                        asarray(range[1], a.dtype))
    point = ufuncs.equal(lo, hi)
    lo, hi = ufuncs.where(point, lo - 0.5, lo), ufuncs.where(point, hi + 0.5, hi)
    return creation.linspace(lo, hi, n + 1, dtype=a.dtype)


def histogram(a: ArrayLike, bins: ArrayLike = 10, range: Sequence[ArrayLike] | None = None,  # noqa: A002
              weights: ArrayLike | None = None, density: bool | None = None) -> tuple[Array, Array]:
    """(counts, edges): the (weighted) number of elements of a in each bin
    [e_i, e_i+1), the last bin closed; with `density`, counts / (sum(counts)
    width_i). As JAX, `a` and `weights` are promoted together to an inexact
    dtype, the counts' (integer weights count in floats)."""
    a, w = _with_weights("histogram", a, weights, "weights should have the same shape as a.", lambda a: a.shape)
    a_flat, w = shape_ops.ravel(a), shape_ops.ravel(w)
    edges = histogram_bin_edges(a_flat, bins, range, weights)
    index = sorting.searchsorted(edges, a_flat, side="right")
    index = ufuncs.where(ufuncs.equal(a_flat, edges[-1]), edges.shape[0] - 1, index)
    counts = creation.zeros(edges.shape[0] + 1, w.dtype).at[index].add(w)[1:-1]
    if density:
        counts = ufuncs.divide(ufuncs.divide(counts, reductions.sum(counts)), diff(edges))
    return counts, edges


def _with_weights(name, a, weights, mismatch, weights_shape):
    """(a, weights) promoted together to an inexact dtype, weights ones
    where None; JAX's ValueError `mismatch` unless weights' shape is
    weights_shape(a)."""
    if weights is None:
        (a,) = promote_args_inexact(name, a)
        return a, creation.ones_like(a)
    a, weights = promote_args_inexact(name, a, weights)
    if weights.shape != weights_shape(a):
        raise ValueError(mismatch)
    return a, weights


def _length(bins):
    """len(bins), None for a scalar; not np.ndim, which fails on a list of
    edge arrays of different lengths."""
    try:
        return len(bins)
    except TypeError:
        return None


def histogramdd(sample: ArrayLike, bins: ArrayLike | list[ArrayLike] = 10,
                range: Sequence[None | Array | Sequence[ArrayLike]] | None = None,  # noqa: A002
                weights: ArrayLike | None = None, density: bool | None = None) -> tuple[Array, list[Array]]:
    """(counts, edges per dimension) of the N points sample[i] in D
    dimensions: each coordinate's bin as in `histogram`, the bins' flat index
    counted by `bincount`; with `density`, divided by the total and by each
    bin's volume."""
    check_arraylike("histogramdd", sample)
    sample, promoted = _with_weights("histogramdd", sample, weights, "should have one weight for each sample.",
                                     lambda s: s.shape[:1])
    weights = None if weights is None else promoted
    if sample.ndim != 2:
        raise ValueError(f"histogramdd: sample must be 2-D (N points, D dimensions), got shape {sample.shape}")
    n_dims = sample.shape[1]
    bins = [bins] * n_dims if _length(bins) is None else list(bins)
    ranges = [None] * n_dims if range is None else list(range)
    if len(bins) != n_dims or len(ranges) != n_dims:
        raise ValueError(f"histogramdd: bins and range must have one entry per dimension ({n_dims})")
    edges, index = [], []
    for d in builtins.range(n_dims):
        column = sample[:, d]
        e = histogram_bin_edges(column, bins[d], ranges[d], weights)
        i = sorting.searchsorted(e, column, side="right")
        index.append(ufuncs.where(ufuncs.equal(column, e[-1]), i - 1, i))
        edges.append(e)
    shape = tuple(e.shape[0] + 1 for e in edges)
    flat = ravel_multi_index(index, shape, mode="clip")
    hist = bincount(flat, weights, length=int(np.prod(shape))).reshape(shape)[(slice(1, -1),) * n_dims]
    if density:
        hist = hist.astype(sample.dtype)
        hist = ufuncs.divide(hist, reductions.sum(hist))
        for width in ix_(*(diff(e) for e in edges)):
            hist = ufuncs.divide(hist, width)
    return hist, edges


def histogram2d(x: ArrayLike, y: ArrayLike, bins: ArrayLike | list[ArrayLike] = 10,
                range: Sequence[None | Array | Sequence[ArrayLike]] | None = None,  # noqa: A002
                weights: ArrayLike | None = None, density: bool | None = None) -> tuple[Array, Array, Array]:
    """histogramdd of the points (x[i], y[i]): (counts, x edges, y edges)."""
    check_arraylike("histogram2d", x, y)
    sample = shape_ops.stack(promote_args("histogram2d", x, y), 1)
    if _length(bins) not in (None, 1, 2):  # one array of edges for both (NumPy's reading)
        bins = [bins, bins]
    hist, (x_edges, y_edges) = histogramdd(sample, bins, range, weights, density)
    return hist, x_edges, y_edges


def bincount(x: ArrayLike, weights: ArrayLike | None = None, minlength: int = 0, *, length: int | None = None) -> Array:
    """out[k] = the (weighted) number of times k occurs in the 1-D integer x
    (negative values count as 0), for k < length. Without `length` the
    length is max(x) + 1, data: it needs a concrete x."""
    check_arraylike("bincount", x)
    x = asarray(x)
    if dtypes.is_bool(x.dtype):  # (counted as 0 and 1, as by JAX and NumPy)
        x = x.astype(np.int32)
    if not dtypes.is_int(x.dtype):
        raise TypeError(f"x argument to bincount must have an integer type; got {x.dtype}")
    if x.ndim != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError("minlength must be nonnegative.")
    if length is None:
        if isinstance(x, core.Tracer):
            raise core.ConcretizationTypeError(
                "Abstract tracer value encountered where concrete value is expected: traced array with shape "
                f"{x.aval.str_short()}\nThe error arose in jnp.bincount(): the length of its result depends "
                "on the values of x. Pass a concrete value for the `length` argument.")
        top = int(np.asarray(x).max()) if x.shape[0] else -1  # no initial=-1: x may be unsigned
        length = max(minlength, top + 1)
    else:
        length = operator.index(length)
    w = creation.ones_like(x, dtypes.default_int_dtype()) if weights is None else asarray(weights)
    return creation.zeros(length, w.dtype).at[ufuncs.maximum(x, 0)].add(w, mode="drop")


__all__ = ["average", "bincount", "convolve", "corrcoef", "correlate", "count_nonzero", "cov", "cumulative_prod",
           "cumulative_sum", "diff", "ediff1d", "gradient", "histogram", "histogram2d", "histogram_bin_edges",
           "histogramdd", "interp", "ptp", "trapezoid", "unwrap"]
