"""`irax.lax`: operations below the NumPy layer."""
from __future__ import annotations

from iree.compiler import ir

from irax import tree_util
from irax.frontend import core, dtypes
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import bitcast_convert_type as bitcast_convert_type_p
from irax.frontend.primitives.elementwise import emit_elementwise
from irax.typing import Array, ArrayLike, DTypeLike, PyTree


def _emit_stop_gradient(ctx, x):
    (out,) = emit_elementwise(ctx, x, body=lambda s: s)
    out.owner.attributes["irax.stop_gradient"] = ir.UnitAttr.get()  # see transforms/ad/generic.py
    return [out]


stop_gradient_p = Primitive("stop_gradient", lambda x: x, _emit_stop_gradient, dynamic_shapes=True)


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
