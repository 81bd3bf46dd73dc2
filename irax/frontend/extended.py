"""Arrays of an extended dtype (JAX's `jax.dtypes.extended`): typed PRNG keys
today. Such an array holds a physical array `_data` whose trailing
`_trailing` axes are one element's representation (a threefry key: two
uint32 words); its logical shape leaves them out.

The structural `irax.numpy`/`irax.lax` functions (where, select,
concatenate, stack, take, ...) accept extended arrays as JAX's do: each
unwraps its operands here, runs on the physical arrays with its axes and
conditions counted from the front (so the trailing axes ride along
untouched), and wraps the result back. Arithmetic and promotion with any
other dtype is JAX's ValueError, as `jnp.where(True, key, 1)` is."""
from __future__ import annotations

from irax.frontend.primitives.shape import reshape


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


def is_extended(x) -> bool:
    return isinstance(x, ExtendedArray)


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


def expand_trailing(cls, x):
    """`x` (a condition or other per-element array) with size-1 axes for the
    trailing physical axes of `cls`, so it broadcasts against the data."""
    return reshape.bind(x, new_shape=(*x.shape, *(1,) * cls._trailing)) if cls._trailing else x
