"""The NumPy API on irax arrays. Each submodule is one family of functions;
this package gathers their `__all__` and gives arrays their methods."""
import sys

import numpy as np

from irax.frontend import array_methods, dtypes
from irax.frontend.array import Array
from irax.frontend.numpy import (
    array_api, bitcast, complex_parts, creation, index_tricks, indexing, layout, linalg, math_extra, nanreductions, polynomial, reductions, scalar_types,
    setops, shape, sorting, statistics, ufunc_objects, ufuncs, windows,
)
from irax.frontend.numpy.array_api import *  # noqa: F401,F403
from irax.frontend.numpy.complex_parts import *  # noqa: F401,F403
from irax.frontend.numpy.creation import *  # noqa: F401,F403
from irax.frontend.numpy.index_tricks import *  # noqa: F401,F403
from irax.frontend.numpy.indexing import *  # noqa: F401,F403
from irax.frontend.numpy.layout import *  # noqa: F401,F403
from irax.frontend.numpy.linalg import *  # noqa: F401,F403
from irax.frontend.numpy.math_extra import *  # noqa: F401,F403
from irax.frontend.numpy.nanreductions import *  # noqa: F401,F403
from irax.frontend.numpy.polynomial import *  # noqa: F401,F403
from irax.frontend.numpy.reductions import *  # noqa: F401,F403
from irax.frontend.numpy.scalar_types import *  # noqa: F401,F403
from irax.frontend.numpy.setops import *  # noqa: F401,F403
from irax.frontend.numpy.shape import *  # noqa: F401,F403
from irax.frontend.numpy.sorting import *  # noqa: F401,F403
from irax.frontend.numpy.statistics import *  # noqa: F401,F403
from irax.frontend.numpy.ufuncs import *  # noqa: F401,F403
from irax.frontend.numpy.vectorize import vectorize
from irax.frontend.numpy.padding import pad  # every mode; shape.pad has those that are primitives
from irax.frontend.numpy.windows import *  # noqa: F401,F403

ndarray = Array
dtype = np.dtype
issubdtype = dtypes.issubdtype
result_type = dtypes.result_type
promote_types = dtypes.promote_types

__all__ = sorted(
    set(array_api.__all__ + creation.__all__ + index_tricks.__all__ + indexing.__all__ + layout.__all__ + linalg.__all__
        + math_extra.__all__ + complex_parts.__all__ + nanreductions.__all__ + polynomial.__all__ + reductions.__all__ + scalar_types.__all__
        + setops.__all__ + shape.__all__ + sorting.__all__ + statistics.__all__ + ufuncs.__all__ + windows.__all__
        + ufunc_objects.__all__)
    | {"ndarray", "dtype", "issubdtype", "result_type", "promote_types", "vectorize"}
)

array_methods.install(sys.modules[__name__])
# Then JAX's ufunc objects (jnp.add.reduce, ...) replace their plain functions
# here; the operators installed above keep calling the plain ones.
from irax.frontend.numpy.ufunc_objects import *  # noqa: E402,F401,F403
