"""`jax.dtypes`'s names that irax has: the float0 of integer inputs'
gradients, bfloat16, the scalar types of key dtypes (extended, prng_key), JAX's canonicalization and type promotion, and
issubdtype (NumPy's, with bfloat16 a float), TypePromotionError, and two
queries of a dtype or value: itemsize_bits and scalar_type_of."""
from typing import Any

import ml_dtypes
import numpy as np

from irax.frontend import dtypes
from irax.frontend.dtypes import (TypePromotionError, canonicalize_dtype, extended, float0, issubdtype, prng_key,
                                  result_type)
from irax.typing import DTypeLike

bfloat16 = dtypes.bfloat16

def _info(dtype):
    """ml_dtypes' iinfo or finfo of `dtype` (NumPy's types and its own: int4,
    bfloat16, the float8s), None for bool and complex."""
    for info in (ml_dtypes.iinfo, ml_dtypes.finfo):
        try:
            return info(dtype)
        except ValueError:  # (not of that kind)
            pass
    return None


def itemsize_bits(dtype: DTypeLike) -> int:
    """The bits of one element of `dtype`: 4 for int4, 8 for bool (a byte)."""
    dt = np.dtype(dtype)
    if dt.kind in "bc":
        return 8 * dt.itemsize  # (a bool is a byte; a complex two floats)
    return _info(dt).bits


def scalar_type_of(x: Any) -> type:
    """The Python scalar type (bool, int, float or complex) of a value's dtype."""
    dt = np.dtype(x.dtype) if hasattr(x, "dtype") else dtypes.dtype_and_weak(x)[0]
    if dt.kind in "bc":
        return {"b": bool, "c": complex}[dt.kind]
    return int if isinstance(_info(dt), ml_dtypes.iinfo) else float


__all__ = ["TypePromotionError", "bfloat16", "canonicalize_dtype", "extended", "float0", "issubdtype", "itemsize_bits",
           "prng_key", "result_type", "scalar_type_of"]
