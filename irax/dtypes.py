"""`jax.dtypes`'s names that irax has: the float0 of integer inputs'
gradients, bfloat16, the scalar types of key dtypes (extended, prng_key), JAX's canonicalization and type promotion, and
issubdtype (NumPy's, with bfloat16 a float), TypePromotionError."""
from irax.frontend import dtypes
from irax.frontend.dtypes import (TypePromotionError, canonicalize_dtype, extended, float0, issubdtype, prng_key,
                                  result_type)

bfloat16 = dtypes.bfloat16

__all__ = ["TypePromotionError", "bfloat16", "canonicalize_dtype", "extended", "float0", "issubdtype", "prng_key",
           "result_type"]
