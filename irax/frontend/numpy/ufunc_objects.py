"""`jnp.ufunc` and `jnp.frompyfunc`, as JAX's: a function of `nin` arrays
with NumPy's ufunc methods derived from it,

    reduce       fold along an axis:       f(...f(f(a0, a1), a2)..., an)
    accumulate   the same, every partial result kept
    at           a[indices] = f(a[indices], b), once per index (repeats add up)
    reduceat     reduce over each slice a[indices[i]:indices[i + 1]]
    outer        f(A[..., None...], B): every pair

each by a loop over the axis (fori_loop / scan) unless the ufunc names a
faster equivalent (jnp.add.reduce is jnp.sum). The binary functions JAX
makes ufuncs are wrapped here too, so jnp.add.reduce(...) works.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from irax.frontend.numpy import creation, indexing, math_extra, reductions, shape as shape_ops, ufuncs
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike
from irax.frontend.numpy.vectorize import vectorize
from irax.frontend.shapes import eval_shape
from irax.typing import Array, ArrayLike, DTypeLike

_AT_INPLACE = ("jax.numpy.ufunc.at cannot modify arrays in-place, because JAX arrays are immutable. "
               "Use inplace=False to return an updated copy.")


def _loops():
    from irax.frontend import control_flow  # not at import: control flow imports the numpy package
    return control_flow


class ufunc:
    """A function of `nin` arrays broadcast together (vectorized when it is
    not already), with the ufunc methods; `call`, `reduce`, `accumulate`,
    `at`, `reduceat` may name faster equivalents of the derived ones."""

    def __init__(self, func: Callable[..., Any], /, nin: int, nout: int, *, name: str | None = None,
                 nargs: int | None = None, identity: Any = None, call: Callable[..., Any] | None = None,
                 reduce: Callable[..., Any] | None = None, accumulate: Callable[..., Any] | None = None,
                 at: Callable[..., Any] | None = None, reduceat: Callable[..., Any] | None = None):
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        # Read-only, as JAX's: a ufunc may be a static argument, so it must not change.
        self.__props = dict(func=func, nin=operator.index(nin), nout=operator.index(nout),
                            nargs=operator.index(nargs or nin), identity=identity, call=call, reduce=reduce,
                            accumulate=accumulate, at=at, reduceat=reduceat)

    _func = property(lambda self: self.__props["func"])
    _call = property(lambda self: self.__props["call"])
    nin = property(lambda self: self.__props["nin"])
    nout = property(lambda self: self.__props["nout"])
    nargs = property(lambda self: self.__props["nargs"])
    identity = property(lambda self: self.__props["identity"])

    def _key(self):
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self) -> str:
        return f"<jnp.ufunc '{self.__name__}'>"

    def __call__(self, *args: ArrayLike, out: None = None, where: None = None) -> Any:
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        call = self.__props["call"]
        if call is None:  # (a named `call`, a jnp function, checks its own arguments)
            check_arraylike(self.__name__, *args)
            call = vectorize(self._func)
        return call(*args)

    def _binary(self, method):
        if self.nin != 2:
            raise ValueError(f"{method} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{method} only supported for functions returning a single value")

    def _result_dtype(self, *args):
        return eval_shape(self._func, *(creation.ones((), asarray(a).dtype) for a in args)).dtype

    def reduce(self, a: ArrayLike, axis: int | None = 0, dtype: DTypeLike | None = None, out: None = None,
               keepdims: bool = False, initial: ArrayLike | None = None, where: ArrayLike | None = None) -> Array:
        """f folded over `axis` (all axes when None), from `initial` (default:
        the identity, else the first element)."""
        check_arraylike(f"{self.__name__}.reduce", a)
        self._binary("reduce")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduce()")
        if where is not None:
            check_arraylike(f"{self.__name__}.reduce", where)
            if self.identity is None and initial is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an identity, so to use a "
                                 "where mask one has to specify 'initial'.")
            if asarray(where).dtype != np.bool_:
                raise ValueError(f"where argument must have dtype=bool; got dtype={asarray(where).dtype}")
        fast = self.__props["reduce"]
        if fast is not None:
            return fast(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)
        return self._reduce_by_loop(asarray(a), axis, dtype, keepdims, initial, where)

    def _reduce_by_loop(self, arr, axis, dtype, keepdims, initial, where):
        initial = self.identity if initial is None else initial
        dtype = self._result_dtype(arr, arr) if dtype is None else dtype
        if where is not None:
            where = shape_ops.broadcast_to(where, arr.shape)
        if isinstance(axis, tuple):
            raise NotImplementedError("tuple of axes")
        if axis is None:
            final_shape = (1,) * arr.ndim if keepdims else ()
            arr, axis = arr.ravel(), 0
            where = None if where is None else where.ravel()
        else:
            axis = canonicalize_axis(f"{self.__name__}.reduce", axis, arr.ndim)
            final_shape = arr.shape[:axis] + (1,) * keepdims + arr.shape[axis + 1:]
        arr = shape_ops.moveaxis(arr, axis, 0)
        where = None if where is None else shape_ops.moveaxis(where, axis, 0)
        if arr.shape[0] == 0:
            if initial is None:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} which has no identity")
            return creation.full(final_shape, initial, dtype)

        def body(i, val):
            new = self(val, arr[i].astype(dtype))
            return new if where is None else ufuncs.where(where[i], new, val)

        start, first = (1, arr[0]) if initial is None else (0, initial)
        first = shape_ops.broadcast_to(asarray(first).astype(dtype), arr.shape[1:])
        result = _loops().fori_loop(start, arr.shape[0], body, first)
        return result.reshape(final_shape) if keepdims else result

    def accumulate(self, a: ArrayLike, axis: int = 0, dtype: DTypeLike | None = None, out: None = None) -> Array:
        """Every partial reduce along `axis`: out[i] = f(out[i - 1], a[i])."""
        self._binary("accumulate")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.accumulate()")
        fast = self.__props["accumulate"]
        if fast is not None:
            return fast(a, axis=axis, dtype=dtype)
        check_arraylike(f"{self.__name__}.accumulate", a)
        arr = asarray(a)
        dtype = self._result_dtype(arr, arr) if dtype is None else dtype
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        axis = canonicalize_axis(f"{self.__name__}.accumulate", axis, arr.ndim)
        if arr.size == 0:
            return creation.zeros(arr.shape, dtype)
        arr = shape_ops.moveaxis(arr, axis, 0).astype(dtype)

        def step(acc, x):
            acc = self(acc, x)
            return acc, acc

        _, rest = _loops().scan(step, arr[0], arr[1:])
        return shape_ops.moveaxis(shape_ops.concatenate([arr[:1], rest.astype(dtype)]), 0, axis)

    def at(self, a: ArrayLike, indices: Any, b: ArrayLike | None = None, /, *, inplace: bool = True) -> Array:
        """A copy of a with a[indices] = f(a[indices] (, b)), applied once per
        index, so repeated indices compound (NumPy's unbuffered ufunc.at)."""
        if inplace:
            raise NotImplementedError(_AT_INPLACE)
        fast = self.__props["at"]
        args = () if b is None else (b,)
        if fast is not None:
            return fast(a, indices, *args)
        check_arraylike(f"{self.__name__}.at", a, *args)
        dtype = self._result_dtype(a, *args)
        a = asarray(a).astype(dtype)
        args = tuple(asarray(arg).astype(dtype) for arg in args)
        indices = indices if isinstance(indices, tuple) else (indices,)
        arrays = [np.shape(i) for i in indices if not isinstance(i, slice)]
        shape = np.broadcast_shapes(*arrays) if arrays else ()
        if not shape:
            return a.at[indices].set(self(a.at[indices].get(), *args))
        count = int(np.prod(shape))
        args = tuple(shape_ops.broadcast_to(arg, shape + arg.shape[len(shape):]).reshape((count,) + arg.shape[len(shape):])
                     for arg in args)
        indices = [i if isinstance(i, slice) else shape_ops.broadcast_to(asarray(i), shape).ravel() for i in indices]

        def body(k, a):
            index = tuple(i if isinstance(i, slice) else i[k] for i in indices)
            return a.at[index].set(self(a.at[index].get(), *(arg[k] for arg in args)))

        return _loops().fori_loop(0, count, body, a)

    def reduceat(self, a: ArrayLike, indices: Any, axis: int = 0, dtype: DTypeLike | None = None,
                 out: None = None) -> Array:
        """out[i] = reduce(a[indices[i]:indices[i + 1]]) along `axis` (the
        last runs to the end), or a[indices[i]] where the slice is empty."""
        self._binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduceat()")
        fast = self.__props["reduceat"]
        if fast is not None:
            return fast(a, indices, axis=axis, dtype=dtype)
        check_arraylike(f"{self.__name__}.reduceat", a, indices)
        a, indices = asarray(a), asarray(indices)
        if a.ndim == 0:
            raise ValueError(f"reduceat: a must have 1 or more dimension, got a.shape={a.shape}")
        if indices.ndim != 1:
            raise ValueError(f"reduceat: indices must be one-dimensional, got indices.shape={indices.shape}")
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        axis = canonicalize_axis(f"{self.__name__}.reduceat", axis, a.ndim)
        a = shape_ops.moveaxis(a, axis, 0).astype(a.dtype if dtype is None else dtype)
        n = a.shape[0]
        # (a negative start takes its element from the end but bounds its
        # segment as it is, as JAX's loop does; NumPy rejects it)
        ends = shape_ops.concatenate([indices[1:], creation.full((1,), n, indices.dtype)])
        first, starts = indexing.take(a, indices, axis=0), indices
        column = (-1,) + (1,) * (a.ndim - 1)

        def body(i, out):  # row i of a joins every segment whose (nonempty) range holds it after its start
            inside = ((starts < i) & (i < ends)).reshape(column)
            return ufuncs.where(inside, self(out, a[i]), out)

        return shape_ops.moveaxis(_loops().fori_loop(0, n, body, first), 0, axis)

    def outer(self, A: ArrayLike, B: ArrayLike, /) -> Array:
        """f of every pair: out[i..., j...] = f(A[i...], B[j...])."""
        self._binary("outer")
        check_arraylike(f"{self.__name__}.outer", A, B)
        A, B = asarray(A), asarray(B)
        return self(A.reshape(A.shape + (1,) * B.ndim), B)


def frompyfunc(func: Callable[..., Any], /, nin: int, nout: int, *, identity: Any = None) -> ufunc:
    """`func` of scalars as a ufunc: vectorized, with the ufunc methods."""
    return ufunc(func, nin, nout, identity=identity)


def _cumulative(fn):
    return lambda a, axis=0, dtype=None: fn(a, axis=axis, dtype=dtype)


def plain_function(f):
    """The jnp function a ufunc object calls (jnp.add's is ufuncs.add), else
    `f`: what tables of known functions (lax.reduce's and reduce_window's
    monoids) are keyed by."""
    return (f._call or f) if isinstance(f, ufunc) else f


def _update_at(method):
    return lambda a, indices, *b: getattr(asarray(a).at[indices], method)(*b)


def _make(name, identity=None, reduce=None, accumulate=None, at=None, nin=2):
    """The ufunc of the jnp function `name`, with its faster methods (the
    rest are derived): reduce is (the jnp reduction, whether it takes dtype=,
    initial=); a keyword it lacks sends the call to the loop."""
    fn = getattr(ufuncs, name, None) or getattr(math_extra, name)

    def fast_reduce(a, axis=0, dtype=None, keepdims=False, initial=None, where=None):
        reduction, takes_dtype, takes_initial = reduce
        if (dtype is not None and not takes_dtype) or (initial is not None and not takes_initial):
            return made._reduce_by_loop(asarray(a), axis, dtype, keepdims, initial, where)
        kw = dict(axis=axis, keepdims=keepdims, where=where)
        kw.update({"dtype": dtype} if takes_dtype else {})
        kw.update({"initial": initial} if takes_initial else {})
        return reduction(a, **kw)

    made = ufunc(fn, nin, 1, name=name, identity=identity, call=fn,
                 reduce=reduce and fast_reduce, accumulate=None if accumulate is None else _cumulative(accumulate),
                 at=None if at is None else _update_at(at))
    return made


# The functions JAX makes ufuncs.
add = _make("add", 0, (reductions.sum, True, True), reductions.cumsum, "add")
multiply = _make("multiply", 1, (reductions.prod, True, True), reductions.cumprod, "multiply")
maximum = _make("maximum", None, (reductions.max, False, True))
minimum = _make("minimum", None, (reductions.min, False, True))
logical_and = _make("logical_and", True, (reductions.all, False, False))
logical_or = _make("logical_or", False, (reductions.any, False, False))
logical_xor = _make("logical_xor", False)
bitwise_and = _make("bitwise_and", -1)
bitwise_or = _make("bitwise_or", 0)
bitwise_xor = _make("bitwise_xor", 0)
logaddexp = _make("logaddexp", -np.inf)
logaddexp2 = _make("logaddexp2", -np.inf)
subtract = _make("subtract")
negative = _make("negative", nin=1)

__all__ = ["add", "bitwise_and", "bitwise_or", "bitwise_xor", "frompyfunc", "logaddexp", "logaddexp2", "logical_and",
           "logical_or", "logical_xor", "maximum", "minimum", "multiply", "negative", "subtract", "ufunc"]
