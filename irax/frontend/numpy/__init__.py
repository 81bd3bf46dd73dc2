"""The NumPy API on irax arrays. Each submodule is one family of functions;
this package gathers their `__all__` and gives arrays their methods."""
import sys

from irax.frontend import array_methods, dtypes
from irax.frontend.array import Array
from irax.frontend.numpy import creation, indexing, linalg, reductions, shape, ufuncs
from irax.frontend.numpy.creation import *  # noqa: F401,F403
from irax.frontend.numpy.indexing import *  # noqa: F401,F403
from irax.frontend.numpy.linalg import *  # noqa: F401,F403
from irax.frontend.numpy.reductions import *  # noqa: F401,F403
from irax.frontend.numpy.shape import *  # noqa: F401,F403
from irax.frontend.numpy.ufuncs import *  # noqa: F401,F403
from irax.frontend.numpy.vectorize import vectorize

ndarray = Array
bool_ = dtypes.bool_
int8 = dtypes.int8
int16 = dtypes.int16
int32 = dtypes.int32
int64 = dtypes.int64
uint8 = dtypes.uint8
uint16 = dtypes.uint16
uint32 = dtypes.uint32
uint64 = dtypes.uint64
float16 = dtypes.float16
bfloat16 = dtypes.bfloat16
float32 = dtypes.float32
float64 = dtypes.float64
result_type = dtypes.result_type
promote_types = dtypes.promote_types

_DTYPES = ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "bfloat16", "float32", "float64"]
__all__ = sorted(
    set(creation.__all__ + indexing.__all__ + linalg.__all__ + reductions.__all__ + shape.__all__ + ufuncs.__all__)
    | {"ndarray", "result_type", "promote_types", "vectorize", *_DTYPES}
)

array_methods.install(sys.modules[__name__])
