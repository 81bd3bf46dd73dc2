"""`irax.lax`: operations below the NumPy layer."""
from __future__ import annotations

from irax import tree_util
from irax.frontend import core, dtypes
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import bitcast_convert_type as bitcast_convert_type_p
from irax.ir import mlir
from irax.typing import Array, ArrayLike, DTypeLike, PyTree


stop_gradient_p = Primitive("stop_gradient", lambda x: x, lambda ctx, x: [mlir.stop_gradient(x)], dynamic_shapes=True)


def stop_gradient(x: PyTree) -> PyTree:
    """`x`, but a constant to autodiff: no derivative flows through it.
    Works on pytrees of arrays."""
    def stop(leaf):
        leaf = asarray(leaf)
        return stop_gradient_p.bind(leaf) if core.current_trace() is not None else leaf

    return tree_util.tree_map(stop, x)


def bitcast_convert_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """`operand`'s bits read as `new_dtype`, which must have the same width
    (`lax.bitcast_convert_type(jnp.float32(1), jnp.uint32)` is 0x3F800000)."""
    return bitcast_convert_type_p.bind(asarray(operand), new_dtype=dtypes.canonicalize_dtype(new_dtype))
