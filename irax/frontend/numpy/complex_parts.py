"""The complex helpers of `irax.numpy`: they bind the complex primitives
on complex arrays; on real arrays they are identities or constants (as in
JAX: `real(x)` is x, `imag(x)` zeros, `angle(x)` 0 or pi)."""
from __future__ import annotations

from typing import Any

import numpy as np

from irax.frontend import dtypes
from irax.frontend.core import aval_of
from irax.frontend.numpy import creation, ufuncs
from irax.frontend.numpy.util import asarray, check_arraylike, is_array
from irax.frontend.primitives.elementwise import unary
from irax.typing import Array, ArrayLike


def real(val: ArrayLike, /) -> Array:
    """The real part (of the real dtype: float32 for complex64); a real array itself."""
    check_arraylike("real", val)
    val = asarray(val)
    return unary["real"].bind(val) if dtypes.is_complex(val.dtype) else val


def imag(val: ArrayLike, /) -> Array:
    """The imaginary part (of the real dtype); zeros for a real array."""
    check_arraylike("imag", val)
    val = asarray(val)
    return unary["imag"].bind(val) if dtypes.is_complex(val.dtype) else creation.zeros_like(val)


def conjugate(x: ArrayLike, /) -> Array:
    """The complex conjugate, re - i im; a real array itself."""
    check_arraylike("conjugate", x)
    x = asarray(x)
    return unary["conj"].bind(x) if dtypes.is_complex(x.dtype) else x


conj = conjugate


def iscomplexobj(x: Any) -> bool:
    """Whether x has a complex dtype."""
    return x is not None and np.issubdtype(aval_of(x).dtype if is_array(x) else np.asarray(x).dtype, np.complexfloating)


def isrealobj(x: Any) -> bool:
    """not iscomplexobj(x)."""
    return not iscomplexobj(x)


def iscomplex(x: ArrayLike) -> Array:
    """imag(x) != 0: all false for real arrays."""
    return _of_bool_strong(x, ufuncs.not_equal(imag(x), 0))


def isreal(x: ArrayLike) -> Array:
    """imag(x) == 0: all true for real arrays."""
    return _of_bool_strong(x, ufuncs.equal(imag(x), 0))


def _of_bool_strong(x, out):
    """`out`, strongly typed where x is a bool (a Python bool is not weak in JAX)."""
    return ufuncs.strong(out) if dtypes.is_bool(dtypes.dtype_and_weak(x)[0]) else out


def angle(z: ArrayLike, deg: bool = False) -> Array:
    """The argument of z: atan2(im z, re z), of the real dtype; for real z
    atan2(+0, z), pi for negative reals (-0.0 too); in degrees if `deg`."""
    check_arraylike("angle", z)
    z = asarray(z)
    if not dtypes.is_complex(z.dtype) and (not dtypes.is_float(z.dtype) or z.ndim == 0):
        z = z.astype(dtypes.default_float_dtype())  # (JAX's rule: a strong default float, 0-d float16 too)
    if dtypes.is_complex(z.dtype):
        out = unary["angle"].bind(z)
    else:  # NaN stays NaN explicitly: GPU atan2(0, NaN) can be pi (lavapipe's is)
        out = ufuncs.where(ufuncs.isnan(z), z, ufuncs.arctan2(creation.zeros_like(z), z))
    return ufuncs.multiply(out, 180 / np.pi) if deg else out  # (rad2deg: out is already float)


__all__ = ["angle", "conj", "conjugate", "imag", "iscomplex", "iscomplexobj", "isreal", "isrealobj", "real"]
