"""`irax.lax`: operations below the NumPy layer."""
from __future__ import annotations

from irax import tree_util
from irax.frontend import core
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import Primitive
from irax.ir import mlir
from irax.typing import PyTree


stop_gradient_p = Primitive("stop_gradient", lambda x: x, lambda ctx, x: [mlir.stop_gradient(x)], dynamic_shapes=True)
# A constant to reverse mode only (mlir.stop_gradient's reverse_only): lax.gather's promise_in_bounds reads
stop_cotangent_p = Primitive("stop_cotangent", lambda x: x,
                             lambda ctx, x: [mlir.stop_gradient(x, reverse_only=True)], dynamic_shapes=True)


def stop_gradient(x: PyTree) -> PyTree:
    """`x`, but a constant to autodiff: no derivative flows through it.
    Works on pytrees of arrays."""
    def stop(leaf):
        leaf = asarray(leaf)
        return stop_gradient_p.bind(leaf) if core.current_trace() is not None else leaf

    return tree_util.tree_map_data(stop, x)  # (a key array: its data, rebuilt)


def stop_cotangent(x):
    """Array `x`, a constant to reverse mode only (stop_cotangent_p)."""
    x = asarray(x)
    return stop_cotangent_p.bind(x) if core.current_trace() is not None else x
