"""Creation primitives: arrays whose values come from their position, or from one value.

    iota(shape, dtype, dimension)   out[i_0, ..., i_n] = i_dimension
                                    (lax.broadcasted_iota; `arange`, `eye`,
                                    `linspace` and `tri` are built from it)
    full(shape, dtype, fill_value)  out[...] = fill_value, a Python scalar
    full(value, shape, dtype)       out[...] = value, a 0-d array

Both take their shape as a parameter, so eager kernels are compiled per
shape; `irax.numpy`'s creation functions therefore only bind them inside a
trace and compute on the host otherwise (see `numpy/creation.py`).
"""
from iree.compiler.dialects import arith, linalg

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.ir import mlir


# ---------------------------------------------------------------------------
# iota: a linalg.generic whose body reads its own loop index.

def _iota_eval(*, shape, dtype, dimension):
    if not (dtypes.is_int(dtype) or dtypes.is_float(dtype)):
        raise TypeError(f"iota does not accept dtype {dtype.name}. Accepted dtypes are integers and floats.")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"iota dimension must be in range [0, {len(shape)}), got dimension={dimension}.")
    return ShapedArray(shape, dtype)


def _index_to(dtype, i):
    """An `index` Value as a scalar of `dtype`: index_cast(ui) to the integer
    type, through i64 for floats."""
    if dtypes.is_unsigned(dtype):
        return arith.index_castui(mlir.element_type(dtype), i)
    if dtypes.is_int(dtype):
        return arith.index_cast(mlir.element_type(dtype), i)
    as_int = arith.index_cast(mlir.element_type(dtypes.int64), i)
    return arith.sitofp(mlir.element_type(dtype), as_int)


def _iota_emit(ctx, *, shape, dtype, dimension):
    def body(_):
        return [_index_to(dtype, linalg.IndexOp(dimension).result)]

    rank = len(shape)
    return mlir.generic([], [mlir.empty(shape, dtype)], [list(range(rank))], [mlir.PARALLEL] * rank, body)


iota = Primitive("iota", _iota_eval, _iota_emit)


# ---------------------------------------------------------------------------
# full: tensor.empty + linalg.fill when the scalar is a parameter known on the
# host; a 0-d operand (a traced value) is broadcast by a linalg.generic whose
# map reads it at no loop, so autodiff sums the cotangent back into it (a
# fill of an extracted scalar has no derivative: its gradient was lost).

def _full_eval(*value, shape, dtype, weak_type, fill_value=None):
    if len(value) + (fill_value is not None) != 1:
        raise TypeError("full takes either a 0-d operand or a fill_value parameter.")
    if value and (value[0].shape != () or value[0].dtype != dtype):
        raise TypeError(f"full: the operand must be a 0-d {dtype.name} array, got {value[0].str_short()}.")
    return ShapedArray(shape, dtype, weak_type)


def _full_emit(ctx, *value, shape, dtype, weak_type, fill_value=None):
    if not value:
        return [mlir.fill(mlir.scalar_constant(fill_value, dtype), shape, dtype)]
    loops = list(range(len(shape)))
    return mlir.generic(list(value), [mlir.empty(shape, dtype)], [[], loops], [mlir.PARALLEL] * len(shape),
                        lambda x, out: [x])


full = Primitive("full", _full_eval, _full_emit)
