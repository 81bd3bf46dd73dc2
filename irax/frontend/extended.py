"""Arrays of an extended dtype (JAX's `jax.dtypes.extended`): typed PRNG keys
today. Such an array holds a physical array `_data` whose trailing
`_trailing` axes are one element's representation (a threefry key: two
uint32 words); its logical shape leaves them out.

The structural `irax.numpy`/`irax.lax` functions (where, select,
concatenate, stack, take, ...) accept extended arrays as JAX's do: each
unwraps its operands here, runs on the physical arrays with its axes and
conditions counted from the front (so the trailing axes ride along
untouched), and wraps the result back. The reshapes, transposes, flips,
slices, splits and broadcasts of irax.numpy and irax.lax compute with the
logical shape and move whole elements through `reshape`, `transpose`,
`rev`, `static_slice`, `split` and `broadcast_in_dim` here (their logical
shape, permutation, slice or axes extended by the trailing axes);
`x.at[i].get()/.set(keys)` reads and writes whole elements. Arithmetic
and promotion with any other dtype is JAX's ValueError, as
`jnp.where(True, key, 1)` is."""
from __future__ import annotations

import math

from irax.frontend.core import ShapedArray
from irax.frontend.primitives import indexing as indexing_prims
from irax.frontend.primitives import shape as prims


class ExtendedDType:
    """Base of extended dtypes: each names the ExtendedArray subclass of its
    values (`array_type`) and one element's physical layout, the trailing
    axes `element_shape` of `physical_dtype` (ShapeDtypeStruct builds an
    abstract array of such a dtype from these)."""
    array_type: type
    element_shape: tuple
    physical_dtype: object

    def aval_of_shape(self, shape: tuple) -> ShapedArray:
        """The abstract value of an array of this dtype of logical `shape`:
        what typeof gives for it (JAX's prints as `key<fry>[3]`). (Not named
        `aval`: a value with an `aval` is an array to promotion.)"""
        raise NotImplementedError


class ExtendedArray:
    """Base of extended-dtype arrays. Subclasses set `dtype`, `_trailing` and
    keep their physical array in `_data`."""
    _trailing = 0

    def __init__(self, data):
        self._data = data

    @classmethod
    def _wrap(cls, data):
        return cls(data)

    shape = property(lambda self: tuple(self._data.shape[:self._data.ndim - self._trailing]))
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    at = property(lambda self: _IndexUpdateHelper(self))


def _physical_index(x, index):
    """The index of x's data for the logical `index`: whole elements, its
    trailing axes taken whole after any Ellipsis."""
    return (*(index if isinstance(index, tuple) else (index,)), *(slice(None),) * x._trailing)


class _IndexUpdateHelper:
    """`x.at[index]` of an extended array: `.get()` and `.set(values)` of
    whole elements of its dtype, on its data; arithmetic updates are JAX's
    TypeError."""
    __slots__ = ("array", "index")

    def __init__(self, array, index=None):
        self.array, self.index = array, index

    def __getitem__(self, index):
        return _IndexUpdateHelper(self.array, index)

    def _ref(self):
        return self.array._data.at[_physical_index(self.array, self.index)]

    def get(self, **kwargs):
        return self.array._wrap(self._ref().get(**kwargs))

    def set(self, values, **kwargs):
        if not (is_extended(values) and values.dtype == self.array.dtype):
            raise TypeError(f"Cannot set elements of a {self.array.dtype} array to values of type "
                            f"{getattr(values, 'dtype', type(values))}")
        return self.array._wrap(self._ref().set(values._data, **kwargs))

    def __getattr__(self, name):  # add, multiply, min, ...: no arithmetic on these dtypes
        if name.startswith("_"):
            raise AttributeError(name)
        raise TypeError(f"Cannot interpret '{self.array.dtype}' as a data type")


def is_extended(x) -> bool:
    return isinstance(x, ExtendedArray)


def physical(x):
    """The array that holds `x`: its data where `x` is an extended array
    (what a transformation traces), else `x` itself."""
    return x._data if is_extended(x) else x


def unwrap(arrays):
    """(the extended class, the physical arrays) when any of `arrays` is an
    extended array, else None. Mixing an extended dtype with any other, or
    two extended dtypes, is JAX's promotion error."""
    extended = [x for x in arrays if is_extended(x)]
    if not extended:
        return None
    first = extended[0]
    for x in arrays:
        if not is_extended(x) or x.dtype != first.dtype:
            raise ValueError(f"dtype={first.dtype} is not a valid dtype for JAX type promotion.")
    return type(first), [x._data for x in arrays]


# The structural primitives on whole elements: the logical shape, permutation
# or axes of the caller, extended by the trailing axes.

def _with_trailing(x, shape) -> tuple:
    """The physical shape of an array of x's class of logical `shape`."""
    return (*shape, *x._data.shape[x._data.ndim - x._trailing:])


def _trailing_axes(x, ndim) -> tuple:
    """The positions of x's trailing axes after `ndim` logical ones."""
    return tuple(range(ndim, ndim + x._trailing))


def reshape(x, shape):
    return x._wrap(prims.reshape.bind(x._data, new_shape=_with_trailing(x, shape)))


def transpose(x, permutation):
    return x._wrap(prims.transpose.bind(x._data, permutation=(*permutation, *_trailing_axes(x, len(permutation)))))


def rev(x, dimensions):
    return x._wrap(prims.rev.bind(x._data, dimensions=tuple(dimensions)))


def static_slice(x, *run_time_starts, starts, sizes, steps, wrap=False):
    """x[starts[i] : starts[i] + sizes[i] * steps[i] : steps[i]] on each
    logical axis (a None start read from the next of `run_time_starts`,
    counted from the end if negative where `wrap`), each element whole."""
    t = x._trailing
    return x._wrap(indexing_prims.static_slice.bind(
        x._data, *run_time_starts, starts=(*starts, *(0,) * t), sizes=_with_trailing(x, sizes),
        steps=(*steps, *(1,) * t), out_dims=tuple(range(x._data.ndim)), wrap=wrap))


def split(x, sizes, axis):
    """The pieces of `sizes` elements of x along the logical `axis`."""
    return [x._wrap(piece) for piece in prims.split.bind(x._data, sizes=tuple(sizes), axis=axis)]


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """x's elements broadcast to the logical `shape`, or JAX's ValueError
    for a shape they do not broadcast to."""
    if any(x.shape[i] not in (1, shape[d]) for i, d in enumerate(broadcast_dimensions)):
        raise ValueError(f"Incompatible types for broadcasting: input type={x.dtype}[{','.join(map(str, x.shape))}] "
                         f"and requested type={x.dtype}[{','.join(map(str, shape))}]")
    return x._wrap(prims.broadcast_in_dim.bind(x._data, shape=_with_trailing(x, shape), broadcast_dimensions=(
        *broadcast_dimensions, *_trailing_axes(x, len(shape)))))


def expand_trailing(cls, x):
    """`x` (a condition or other per-element array) with size-1 axes for the
    trailing physical axes of `cls`, so it broadcasts against the data."""
    return prims.reshape.bind(x, new_shape=(*x.shape, *(1,) * cls._trailing)) if cls._trailing else x
