"""`jnp.float32` and the other scalar types, as JAX has them.

Each is a class that stands for its dtype wherever one is taken
(`jnp.zeros(3, jnp.int32)`, `x.astype(jnp.float32)`, `np.dtype(jnp.float32)`,
`x.dtype == jnp.float32`) and, called, converts its argument to an irax array
of that dtype: `jnp.float32(3)` is `Array(3., dtype=float32)`, and
`jnp.int32(x)` converts an array, under `jit` too. Like JAX, irax has no
scalar objects of its own: its scalars are zero-dimensional arrays, so that
they promote as arrays do.

NumPy's abstract types (`jnp.floating`, `jnp.integer`, ...) are NumPy's own,
as in JAX; `jnp.issubdtype` places bfloat16 among the floats.
"""
from typing import Any

import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy.creation import asarray
from irax.typing import Array


class _ScalarMeta(type):
    """The type of `jnp.float32` and its siblings: a class per dtype, equal to
    (and hashed as) NumPy's scalar type, so `x.dtype == jnp.float32` holds."""
    dtype: np.dtype

    @property
    def __numpy_dtype__(self) -> np.dtype:  # np.dtype(jnp.float32) (NumPy >= 2.4; older ones read .dtype)
        return self.dtype

    def __hash__(self) -> int:
        return hash(self.dtype.type)

    def __eq__(self, other: Any) -> bool:
        return self is other or self.dtype.type == other

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __call__(self, x: Any) -> Array:
        return asarray(x, dtype=self.dtype)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self.dtype.type)


def _scalar_type(dtype: np.dtype) -> _ScalarMeta:
    """The scalar type of `dtype`, named as JAX names its: `<class 'irax.numpy.float32'>`."""
    scalar = _ScalarMeta(dtype.name, (object,), {"dtype": dtype, "__module__": "irax.numpy"})
    scalar.__doc__ = (f"An irax scalar constructor of type {dtype.name}: called, it converts its argument "
                      "to an array of that dtype (irax's scalars are zero-dimensional arrays).")
    return scalar


bool_ = _scalar_type(dtypes.bool_)
int8 = _scalar_type(dtypes.int8)
int16 = _scalar_type(dtypes.int16)
int32 = _scalar_type(dtypes.int32)
int64 = _scalar_type(dtypes.int64)
uint8 = _scalar_type(dtypes.uint8)
uint16 = _scalar_type(dtypes.uint16)
uint32 = _scalar_type(dtypes.uint32)
uint64 = _scalar_type(dtypes.uint64)
float16 = _scalar_type(dtypes.float16)
bfloat16 = _scalar_type(dtypes.bfloat16)
float32 = _scalar_type(dtypes.float32)
float64 = _scalar_type(dtypes.float64)
complex64 = _scalar_type(dtypes.complex64)
complex128 = _scalar_type(dtypes.complex128)
float8_e4m3fn = _scalar_type(dtypes.float8_e4m3fn)
float8_e5m2 = _scalar_type(dtypes.float8_e5m2)
float8_e4m3fnuz = _scalar_type(dtypes.float8_e4m3fnuz)
float8_e5m2fnuz = _scalar_type(dtypes.float8_e5m2fnuz)
float8_e4m3b11fnuz = _scalar_type(dtypes.float8_e4m3b11fnuz)
float8_e3m4 = _scalar_type(dtypes.float8_e3m4)
float8_e4m3 = _scalar_type(dtypes.float8_e4m3)
float8_e8m0fnu = _scalar_type(dtypes.float8_e8m0fnu)
float4_e2m1fn = _scalar_type(dtypes.float4_e2m1fn)
# NumPy's other names for them (`bool`, the Array API's, shadows the builtin in this module only from here on)
bool = bool_  # noqa: A001
int_ = int64
uint = uint64
float_ = double = float64
single = float32
complex_ = cdouble = complex128
csingle = complex64

generic = np.generic
number = np.number
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating

__all__ = ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
           "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4",
           "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn", "bool", "int_", "uint", "float_",
           "double", "single", "complex_", "cdouble", "csingle",
           "generic", "number", "integer", "signedinteger", "unsignedinteger", "inexact", "floating",
           "complexfloating"]
