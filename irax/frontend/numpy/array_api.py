"""The Python Array API's metadata (https://data-apis.org/array-api/2024.12/):
the version irax.numpy implements, an array's namespace (irax.numpy itself,
as jax.numpy is JAX's), and what `__array_namespace_info__()` tells a
library written against the standard."""
import sys

import numpy as np

from irax.frontend import dtypes
from irax.frontend.array import device_put
from irax.frontend.numpy.math_extra import isdtype
from irax.plugins.registry import available_backends, devices

__all__ = ["__array_api_version__", "__array_namespace_info__"]

__array_api_version__ = "2024.12"

# The standard's dtypes; the 64-bit ones exist in x64 mode only.
_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
           "complex64", "complex128")


def array_namespace(self, *, api_version: str | None = None):
    """`x.__array_namespace__()`: irax.numpy."""
    if api_version is not None and api_version != __array_api_version__:
        raise ValueError(f"{api_version=!r} is not available; available versions are: {[__array_api_version__]}")
    return sys.modules["irax.numpy"]


def to_device(self, device, /, *, stream=None):
    """`x.to_device(device)`: a copy of `x` committed to `device`, as
    irax.device_put(x, device) (jax.Array.to_device)."""
    if stream is not None:
        raise NotImplementedError("stream argument of array.to_device()")
    return device_put(self, device)


class ArrayNamespaceInfo:
    """What irax.numpy offers, as the standard's inspection API asks
    (jax.numpy's answers, for irax's devices)."""

    def capabilities(self) -> dict:
        # Shapes are static inside transformations, as in JAX.
        return {"boolean indexing": False, "data-dependent shapes": False, "max dimensions": 64}

    def default_device(self):
        return None  # arrays are uncommitted unless put on a device (irax.device_put)

    def devices(self) -> list:
        return [None, *(device for backend in available_backends() for device in devices(backend))]

    def default_dtypes(self, *, device=None) -> dict:
        del device  # the same on every device
        return {"real floating": dtypes.default_float_dtype(), "complex floating": dtypes.default_complex_dtype(),
                "integral": dtypes.default_int_dtype(), "indexing": dtypes.default_int_dtype()}

    def dtypes(self, *, device=None, kind: str | tuple | None = None) -> dict:
        del device
        kind = ("bool", "numeric") if kind is None else kind
        return {name: np.dtype(name) for name in _DTYPES
                if dtypes.canonicalize_dtype(name) == np.dtype(name) and isdtype(name, kind)}


def __array_namespace_info__() -> ArrayNamespaceInfo:
    """The standard's inspection API: irax.numpy's capabilities, devices and dtypes."""
    return ArrayNamespaceInfo()
