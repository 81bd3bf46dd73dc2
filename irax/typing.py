"""The words of irax's type hints, as `jax.typing` has them.

    ArrayLike   what a function accepts as an array: irax arrays, NumPy arrays
                and scalars, Python bools and numbers
    DTypeLike   what names a dtype: a NumPy dtype, a scalar type (jnp.float32,
                float) or a name ("int32")
    Shape       a shape: a sequence of ints
    Axis        an axis, several axes, or None for all of them
    DeviceLike  a device (irax.devices()[0]) or a backend name ("cpu")
    PyTree      a nested container of arrays (see irax.tree_util): Any

Under a trace (`jit`, `grad`, a loop body) functions receive and return
`Tracer`s where these say `Array`: to a user both are arrays (they share
`ArrayMethods`), as JAX's tracers are `jax.Array`s.
"""
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from irax.frontend.array import Array
from irax.frontend.dtypes import DTypeLike
from irax.plugins import Device

ArrayLike = Union[Array, np.ndarray, np.generic, bool, int, float, complex]
Shape = Sequence[int]
Axis = Union[int, Sequence[int], None]
DeviceLike = Union[Device, str]
PyTree = Any

__all__ = ["Array", "ArrayLike", "Axis", "DTypeLike", "DeviceLike", "PyTree", "Shape"]
