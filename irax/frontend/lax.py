"""`irax.lax`: operations below the NumPy layer."""
from __future__ import annotations

from iree.compiler import ir

from irax import tree_util
from irax.frontend import core
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import emit_elementwise
from irax.typing import PyTree


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
