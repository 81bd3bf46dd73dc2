"""`one_hot`: the inverse of argmax, an index turned back into an axis.

    out[..., c, ...] = (x[...] == c)        c in range(num_classes), the new dim at `axis`

one generic whose body compares each element with its loop index along
`axis` (irax.nn.one_hot binds it). An index outside range(num_classes), or
a float that is not a whole number, equals no class: its row is all zeros,
as in JAX.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.ir import mlir
from irax.ir.scalar import cmpf, cmpi, convert_scalar


def _one_hot_eval(x, *, num_classes, axis, dtype):
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for an output of dimension {x.ndim + 1}")
    shape = list(x.shape)
    shape.insert(axis, num_classes)
    return ShapedArray(shape, dtype)


def _one_hot_emit(ctx, x, *, num_classes, axis, dtype):
    """out[..., c, ...] = (x[...] == c): the class is the loop index of `axis`,
    compared in index space (x widened) or, for float x, as a float."""
    x_dtype = ctx.avals_in[0].dtype
    rank = ctx.avals_in[0].ndim + 1
    sizes = mlir.dims(x)
    sizes.insert(axis, num_classes)
    index_type = ir.IndexType.get()

    def body(v, _):
        c = linalg.IndexOp(axis).result
        if dtypes.is_float(x_dtype):
            c = arith.uitofp(v.type, arith.index_castui(ir.IntegerType.get_signless(64), c))
            hit = cmpf("oeq", v, c)
        else:
            signed = dtypes.is_int(x_dtype) and not dtypes.is_unsigned(x_dtype)
            hit = cmpi("eq", (arith.index_cast if signed else arith.index_castui)(index_type, v), c)
        return [convert_scalar(dtypes.bool_, np.dtype(dtype), hit)]

    loops = list(range(rank))
    maps = [[d for d in loops if d != axis], loops]
    return mlir.generic([x], [mlir.empty(sizes, dtype)], maps, [mlir.PARALLEL] * rank, body)


one_hot = Primitive("one_hot", _one_hot_eval, _one_hot_emit, dynamic_shapes=True)
