"""Reductions of `irax.numpy`: pick the dtypes, canonicalize axes, bind.

The dtype rules are JAX's, which differ from NumPy's on purpose:

    sum, prod        bool and integers narrower than 32 bits -> int32/uint32
    cumsum, cumprod  bool -> int32, every other dtype is kept
    mean, var, std   bool and integers -> float32 (int64 -> float64);
                     float16/bfloat16 are kept but computed in float32
    max, min         the input dtype          argmax, argmin   int32 (int64 in x64 mode)
    all, any         bool

and every result is strongly typed, even from a weakly typed input.
"""
from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.shape import broadcast_to
from irax.frontend.numpy.util import (
    as_operand, asarray, canonicalize_axes, canonicalize_axis, check_arraylike, convert, promote_args_inexact,
)
from irax.frontend.primitives.elementwise import binary, unary
from irax.frontend.primitives.reductions import argmax as argmax_p, argmin as argmin_p, reduce
from irax.frontend.primitives.scans import cumulative
from irax.typing import Array, ArrayLike, Axis, DTypeLike

def _operand(name, a):
    check_arraylike(name, a)
    return asarray(a)


def _promote_integer(dtype):
    """JAX's accumulation dtype of sum and prod: bool and narrow integers widen
    to the default integer of their signedness."""
    if dtypes.is_bool(dtype):
        return dtypes.default_int_dtype()
    if dtypes.is_int(dtype):
        default = dtypes.default_uint_dtype() if dtypes.is_unsigned(dtype) else dtypes.default_int_dtype()
        return default if dtype.itemsize < default.itemsize else dtype
    return dtype


def _computation_dtype(dtype):
    """Half-precision statistics are computed in float32, as in JAX."""
    return dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


def _mask(name, where):
    """JAX's `where=` of a reduction: None, or a boolean array that
    broadcasts against the operand."""
    if where is None:
        return None
    check_arraylike(name, where)
    where = asarray(where)
    if not dtypes.is_bool(where.dtype):
        raise ValueError(f"jnp.{name}: where must be None or a boolean array; got where.dtype={where.dtype!r}.")
    return where


def _identity(monoid, dtype):
    """What a reduction leaves out stands for: its identity in `dtype`."""
    if monoid in ("max", "min"):
        low = monoid == "max"
        if dtypes.is_bool(dtype):
            return not low
        if dtypes.is_int(dtype):
            info = np.iinfo(dtype)
            return info.min if low else info.max
        return -np.inf if low else np.inf
    return {"sum": 0, "prod": 1, "and": True, "or": False}[monoid]


def _reduce(name, monoid, x, axis, keepdims, dtype=None, initial=None, where=None):
    """Reduce `x` over `axis`, its elements where `where` (a _mask) is false
    left out; they are converted to `dtype` (default: x's) on the way into
    the accumulator, in the same loop."""
    if where is not None:
        x = ufuncs.where(where, x, convert(_identity(monoid, x.dtype), x.dtype, False))
    axes = canonicalize_axes(name, axis, x.ndim)
    out = reduce[monoid].bind(x, axes=axes, keepdims=bool(keepdims), dtype=x.dtype if dtype is None else dtype)
    if initial is not None:
        out = _COMBINE[monoid](out, convert(initial, out.dtype, False))
    return out


_COMBINE = {"sum": ufuncs.add, "prod": ufuncs.multiply, "max": ufuncs.maximum, "min": ufuncs.minimum}


def _sum_like(name, monoid, what) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, keepdims: bool = False,
           initial: ArrayLike | None = None, where: ArrayLike | None = None, promote_integers: bool = True) -> Array:
        _no_out(name, out)
        x = _operand(name, a)
        if dtype is None:
            dtype = _promote_integer(x.dtype) if promote_integers or dtypes.is_bool(x.dtype) else x.dtype
        else:
            dtype = dtypes.canonicalize_dtype(dtype)
        return _reduce(name, monoid, x, axis, keepdims, dtype, initial, _mask(name, where))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{what} of the elements over `axis`; bools and narrow integers accumulate in int32/uint32 "
                  "(in their own dtype with promote_integers=False).")
    return fn


sum = _sum_like("sum", "sum", "Sum")
prod = _sum_like("prod", "prod", "Product")


def _extremum(name, monoid) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, out: None = None, keepdims: bool = False,
           initial: ArrayLike | None = None, where: ArrayLike | None = None) -> Array:
        _no_out(name, out)
        x = _operand(name, a)
        where = _mask(name, where)
        if where is not None and initial is None:
            raise ValueError(f"reduction operation {name} does not have an identity, so to use a where mask one has "
                             "to specify 'initial'")
        axes = canonicalize_axes(name, axis, x.ndim)
        if initial is None and _count(x.shape, axes) == 0:
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        return _reduce(name, monoid, x, axes, keepdims, initial=initial, where=where)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The {name}imum over `axis` (NaN if any element is NaN, as in NumPy)."
    return fn


max = amax = _extremum("max", "max")
min = amin = _extremum("min", "min")


def _truth(name, monoid) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, out: None = None, keepdims: bool = False, *,
           where: ArrayLike | None = None) -> Array:
        _no_out(name, out)
        return _reduce(name, monoid, _operand(name, a), axis, keepdims, dtypes.bool_, where=_mask(name, where))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Whether {name} elements over `axis` are true (nonzero)."
    return fn


all = _truth("all", "and")
any = _truth("any", "or")


def _counted(name, x, axes, keepdims, where, dtype):
    """How many elements of `x` each reduction over `axes` takes: a number,
    or with a mask `where` an array of `dtype` (the mask's trues, broadcast)."""
    if where is None:
        return _count(x.shape, axes)
    return _reduce(name, "sum", convert(broadcast_to(where, x.shape), dtype, False), axes, keepdims)


def mean(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None,
         keepdims: bool = False, *, where: ArrayLike | None = None) -> Array:
    """Arithmetic mean over `axis`: sum / count (of the elements `where`
    holds), in float32 for ints and half floats. With an integer `dtype`,
    JAX's: the sum in that dtype, divided as integers (truncating)."""
    _no_out("mean", out)
    x = _operand("mean", a)
    where = _mask("mean", where)
    result = dtypes.to_inexact_dtype(x.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype)
    computation = _computation_dtype(result)
    axes = canonicalize_axes("mean", axis, x.ndim)
    return convert(_average(x, axes, keepdims, where, computation), result, False)


def _average(x, axes, keepdims, where, dtype):
    """sum / count over `axes` (of the elements `where` holds), both in
    `dtype` and divided there (lax.div: integers truncate, as JAX's mean)."""
    total = _reduce("mean", "sum", x, axes, keepdims, dtype, where=where)
    return binary["div"].bind(total, as_operand(_counted("mean", x, axes, keepdims, where, dtype), dtype, False))


def var_dtypes(a_dtype, dtype):
    """(computation dtype, result dtype) of var and nanvar, JAX's: an inexact
    input's own (a complex one's variance is real), or the default float, or
    `dtype` (an integer one too: then computed in integers, as JAX does);
    half floats are computed in float32."""
    if dtype is None:
        computation = dtypes.to_inexact_dtype(a_dtype)
        result = dtypes.real_dtype(computation)
    else:
        computation = result = dtypes.canonicalize_dtype(dtype)
        if dtypes.is_complex(a_dtype) and not dtypes.is_complex(result):
            raise ValueError("jax.numpy.var does not yet support real dtype parameters when computing the variance "
                             "of an array of complex values. The semantics of numpy.var seem unclear in this case. "
                             "Please comment on https://github.com/jax-ml/jax/issues/2283 if this behavior is "
                             "important to you.")
    return _computation_dtype(computation), result


def centered(x, mean):
    """x - mean, with lax.sub's rule on ranks (JAX's var subtracts with it)."""
    if mean.ndim != x.ndim:
        raise TypeError(f"sub: arrays must have the same number of dimensions, got {{{mean.ndim}, {x.ndim}}}")
    return ufuncs.subtract(x, mean)


def squared_magnitudes(c):
    """|c|**2: re(c conj(c)) for complex numbers, as JAX takes it."""
    if dtypes.is_complex(c.dtype):
        return unary["real"].bind(ufuncs.multiply(c, unary["conj"].bind(c)))
    return ufuncs.multiply(c, c)


def _variance(name, a, axis, dtype, ddof, keepdims, where, mean):
    """var = sum(|x - mean|**2) / (N - ddof) over the elements `where` holds
    (N: how many), NaN where N - ddof <= 0; `mean` is mean(x) unless given.
    As JAX computes it: in var_dtypes's computation dtype, converted to the
    result dtype before the NaNs (a Python float, which makes ints float)."""
    x = _operand(name, a)
    computation, result = var_dtypes(x.dtype, None if dtype is None else dtypes.canonicalize_dtype(dtype))
    axes = canonicalize_axes(name, axis, x.ndim)
    where = _mask(name, where)
    x = convert(x, computation, False)
    mean = _average(x, axes, True, where, computation) if mean is None else convert(_operand(name, mean), computation,
                                                                                      False)
    squares = squared_magnitudes(centered(x, mean))
    if where is None and isinstance(ddof, (int, float)) and dtypes.is_inexact(result):
        # N - ddof is a number here: subtracted and tested on the host, two
        # puts and three eager kernels fewer, the same bits (IEEE in squares' dtype)
        real = squares.dtype.type
        normalizer = real(_count(x.shape, axes)) - real(ddof)
        total = _reduce(name, "sum", squares, axes, keepdims)
        variance = convert(binary["div"].bind(total, as_operand(normalizer, squares.dtype, False)), result, False)
        return variance if normalizer > 0 else ufuncs.where(False, variance, np.nan)
    normalizer = binary["sub"].bind(
        convert(_counted(name, x, axes, keepdims, where, squares.dtype), squares.dtype, False),
        convert(ddof, squares.dtype, False))
    variance = convert(binary["div"].bind(_reduce(name, "sum", squares, axes, keepdims, where=where), normalizer),
                       result, False)
    return ufuncs.where(ufuncs.greater(normalizer, 0), variance, np.nan)


def _ddof(ddof, correction):
    """The Array API's `correction` is NumPy's `ddof` under another name; not both."""
    if correction is None:
        return ddof
    if not isinstance(ddof, int) or ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def var(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int | float = 0,
        keepdims: bool = False, *, where: ArrayLike | None = None, mean: ArrayLike | None = None,
        correction: int | float | None = None) -> Array:
    """Variance over `axis` with `ddof` (or `correction`) delta degrees of
    freedom, about `mean` if given (with the reduced axes kept)."""
    _no_out("var", out)
    return _variance("var", a, axis, dtype, _ddof(ddof, correction), keepdims, where, mean)


def check_std_dtype(name, dtype):
    if dtype is not None and not dtypes.is_inexact(dtypes.canonicalize_dtype(dtype)):
        raise ValueError(f"dtype argument to jnp.{name} must be inexact; got {dtypes.canonicalize_dtype(dtype)}")


def std(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int | float = 0,
        keepdims: bool = False, *, where: ArrayLike | None = None, mean: ArrayLike | None = None,
        correction: int | float | None = None) -> Array:
    """Standard deviation over `axis`: sqrt(var), rounded to the result dtype between them as in JAX."""
    _no_out("std", out)
    check_std_dtype("std", dtype)
    return ufuncs.sqrt(_variance("std", a, axis, dtype, _ddof(ddof, correction), keepdims, where, mean))


def _arg_extremum(name, prim) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: int | None = None, out: None = None, keepdims: bool = False) -> Array:
        _no_out(name, out)
        x = _operand(name, a)
        if axis is None:
            axes = tuple(range(x.ndim))  # the index into the flattened array
        else:
            axes = (canonicalize_axis(name, operator.index(axis), x.ndim),)
        return prim.bind(x, axes=axes, keepdims=bool(keepdims), index_dtype=dtypes.default_int_dtype())

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Index of the {name[3:]}imum over `axis` (of the flattened array when None); "
                  "the first one wins, and NaN counts as the extreme, as in NumPy.")
    return fn


argmax = _arg_extremum("argmax", argmax_p)
argmin = _arg_extremum("argmin", argmin_p)


def _cumulative(name, monoid) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None) -> Array:
        _no_out(name, out)
        x = _operand(name, a)
        if axis is not None:
            axis = canonicalize_axis(name, operator.index(axis), x.ndim)
        if dtype is None:
            dtype = _promote_integer(x.dtype) if dtypes.is_bool(x.dtype) else x.dtype
        dtype = dtypes.canonicalize_dtype(dtype)
        if monoid == "prod":
            return running_product(x, axis, dtype)
        # A bool result is a running or/and of x != 0: the truth values JAX
        # gets by counting in int32 and converting.
        return cumulative[monoid].bind(x, axis=axis, dtype=dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Running {monoid} along `axis` (of the flattened array when None)."
    return fn


cumsum = _cumulative("cumsum", "sum")
cumprod = _cumulative("cumprod", "prod")


def running_product(x: Array, axis: int | None, dtype) -> Array:
    """The cumprod primitive: x's running product along `axis` (of the
    flattened x where None) in `dtype`. An inexact one is differentiated as
    JAX differentiates cumprod (`_running_product_with_rule`): the
    primitive's own derivative, through its multiplies, is NaN after an
    infinity (inf * 0 terms). Outside every transformation nothing
    differentiates it: it is the primitive alone."""
    if not dtypes.is_inexact(dtype) or core.untraced():
        return cumulative["prod"].bind(x, axis=axis, dtype=dtype)
    return _running_product_with_rule()(convert(x, dtype, False), axis, dtype)  # (as JAX: the rule's tangents are dtype's)


@functools.cache
def _running_product_with_rule():
    """The cumprod primitive as a custom_jvp function of x, whose rule is
    JAX's (_cumulative_jvp_rule): the JVP of lax.associative_scan of
    multiplies, that is the scan of the pairs (x, dx) combined as
    (a, da) * (b, db) = (a b, da b + a db)."""
    from irax.frontend.custom_derivatives import custom_jvp
    from irax.frontend.lax_scans import associative_scan

    @functools.partial(custom_jvp, nondiff_argnums=(1, 2))
    def product(x, axis, dtype):
        return cumulative["prod"].bind(x, axis=axis, dtype=dtype)

    @product.defjvp
    def _(axis, dtype, primals, tangents):
        (x, dx), times = [convert(v, dtype, False) for v in (*primals, *tangents)], binary["mul"].bind
        if axis is None:
            x, dx, axis = x.reshape(-1), dx.reshape(-1), 0
        return associative_scan(lambda a, b: (times(a[0], b[0]), binary["add"].bind(times(a[1], b[0]),
                                                                                      times(a[0], b[1]))),
                                (x, dx), axis=axis)
    return product


def isclose(a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
            equal_nan: bool = False) -> Array:
    """|a - b| <= atol + rtol * |b| elementwise; equal infinities are close."""
    a, b = promote_args_inexact("isclose", a, b)
    dtype = dtypes.real_dtype(a.dtype)  # of |a - b|
    in_range = ufuncs.less_equal(
        ufuncs.abs(ufuncs.subtract(a, b)),
        ufuncs.add(convert(atol, dtype, False), ufuncs.multiply(convert(rtol, dtype, False), ufuncs.abs(b))),
    )
    close = ufuncs.logical_or(ufuncs.equal(a, b), ufuncs.logical_and(ufuncs.isfinite(b), in_range))
    if equal_nan:
        close = ufuncs.logical_or(close, ufuncs.logical_and(ufuncs.isnan(a), ufuncs.isnan(b)))
    return close


def allclose(a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
             equal_nan: bool = False) -> Array:
    """Whether every element of `a` is close to `b` (see isclose)."""
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: ArrayLike, a2: ArrayLike, equal_nan: bool = False) -> Array:
    """True when both have the same shape and equal elements; differing
    shapes are simply not equal."""
    check_arraylike("array_equal", a1, a2)
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    equal = ufuncs.equal(a1, a2)
    if equal_nan:
        equal = ufuncs.logical_or(equal, ufuncs.logical_and(ufuncs.isnan(a1), ufuncs.isnan(a2)))
    return all(equal)


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")


__all__ = [
    "sum", "prod", "mean", "var", "std", "max", "amax", "min", "amin", "argmax", "argmin", "all", "any",
    "cumsum", "cumprod", "isclose", "allclose", "array_equal",
]
