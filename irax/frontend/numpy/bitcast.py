"""The bits of an array read as another dtype: `lax.bitcast_convert_type`
and the `Array.view` method, as JAX's.

Between dtypes of one width it is one primitive (`arith.bitcast` of each
element). Between widths, an element of the wider dtype is r = wide / narrow
elements of the narrower, least significant first (their order in memory on
a little-endian host, JAX's order):

    bitcast_convert_type(int32 (...,),   int8) -> (..., 4)    wide -> r pieces
    bitcast_convert_type(int8  (..., 4), int32) -> (...,)     r pieces -> wide
    x.view(int8) of int32 (..., n) -> (..., 4 n)              the last axis scales

computed on unsigned integers of each width: piece k = (wide >> k bits) cut
to the narrow width, and wide = OR of (piece k << k bits).
"""
from __future__ import annotations

import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy import complex_parts, creation, shape, ufuncs
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives.elementwise import bitcast_convert_type as bitcast_p
from irax.typing import Array, ArrayLike, DTypeLike


def _unsigned(itemsize: int) -> np.dtype:
    return np.dtype(f"u{itemsize}")


def bitcast_convert_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """`operand`'s bits read as `new_dtype` (`lax.bitcast_convert_type(
    jnp.float32(1), jnp.uint32)` is 0x3F800000); between widths, as the
    module docstring says."""
    x = asarray(operand)
    new_dtype = np.dtype(dtypes.canonicalize_dtype(new_dtype))
    if x.dtype != new_dtype and any(dtypes.is_bool(d) or dtypes.is_complex(d) for d in (x.dtype, new_dtype)):
        raise TypeError("lax.bitcast_convert_type does not support bool or complex values unless the operand and "
                        f"destination types match. Got operand dtype={x.dtype}, new_dtype={new_dtype!r}. Consider "
                        "using the arr.view() method instead.")
    old, new = x.dtype.itemsize, new_dtype.itemsize
    if old == new:
        return bitcast_p.bind(x, new_dtype=new_dtype)
    if old > new:
        wide, pieces = bitcast_p.bind(x, new_dtype=_unsigned(old)), old // new
        cut = [creation.astype(ufuncs.right_shift(wide, np.array(8 * new * k, wide.dtype)), _unsigned(new))
               for k in range(pieces)]
        return bitcast_p.bind(shape.stack(cut, axis=-1), new_dtype=new_dtype)
    pieces = new // old
    if x.ndim == 0 or x.shape[-1] != pieces:
        raise ValueError(f"Attempting to convert array of shape {x.shape} from {x.dtype} of size {8 * old} bits to "
                         f"{new_dtype} of size {8 * new}, bits but {x.shape[-1] if x.ndim else 1} * {8 * old} != "
                         f"{8 * new}")
    narrow = creation.astype(bitcast_p.bind(x, new_dtype=_unsigned(old)), _unsigned(new))
    wide = narrow[..., 0]
    for k in range(1, pieces):
        wide = ufuncs.bitwise_or(wide, ufuncs.left_shift(narrow[..., k], np.array(8 * old * k, wide.dtype)))
    return bitcast_p.bind(wide, new_dtype=new_dtype)


def view(self, dtype: DTypeLike | None = None, type: None = None) -> Array:
    """`x.view(dtype)`: a copy of the bits of `x` read as `dtype`, its last
    axis scaled by the ratio of the widths (bool counts as 8 bits: read as
    bool, bytes other than 0 and 1 are undefined, as in JAX)."""
    if type is not None:
        raise NotImplementedError("`type` argument of array.view() is not supported.")
    if dtype is None:
        return self
    dtype = np.dtype(dtypes.canonicalize_dtype(dtype))
    old, new = self.dtype.itemsize, dtype.itemsize
    if self.ndim == 0:
        if old != new:
            raise ValueError("view() of a 0d array is only supported if the itemsize is unchanged.")
        return view(self[None], dtype)[0]
    if (self.shape[-1] * old) % new:
        raise ValueError("When changing to a larger dtype, its size must be a divisor of the total size in bytes "
                         "of the last axis of the array.")
    if self.dtype == dtype:
        return self
    if dtypes.is_bool(self.dtype):
        return view(creation.astype(self, np.uint8), dtype)
    if dtypes.is_complex(self.dtype):  # (re, im) pairs of floats
        parts = shape.stack([complex_parts.real(self), complex_parts.imag(self)], axis=-1)
        return view(shape.reshape(parts, (*self.shape[:-1], 2 * self.shape[-1])), dtype)
    if dtypes.is_bool(dtype):
        return creation.astype(view(self, np.uint8), bool)
    if dtypes.is_complex(dtype):
        parts = view(self, np.dtype(f"f{new // 2}"))
        return creation.astype(parts[..., 0::2], dtype) + 1j * parts[..., 1::2]
    if old < new:
        return bitcast_convert_type(shape.reshape(self, (*self.shape[:-1], self.shape[-1] * old // new, new // old)),
                                    dtype)
    out = bitcast_convert_type(self, dtype)
    return shape.reshape(out, (*self.shape[:-1], -1)) if old > new else out
