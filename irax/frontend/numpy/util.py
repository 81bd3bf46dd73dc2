"""What every `irax.numpy` function does before it binds a primitive:
check its arguments are array-like, and promote them to one dtype the way
JAX does (see `dtypes.result_type`)."""
import numbers
import operator
import warnings

import numpy as np

from irax.config import config
from irax.frontend import array, dtypes
from irax.frontend.array_methods import ArrayMethods
from irax.frontend.primitives.elementwise import convert_element_type


def is_array(x) -> bool:
    """An irax array: concrete `Array` or `Tracer`."""
    return isinstance(x, ArrayMethods)


def check_arraylike(fn_name, *args):
    for i, x in enumerate(args):
        if not (is_array(x) or isinstance(x, (np.ndarray, np.generic, numbers.Number))):
            raise TypeError(f"{fn_name} requires ndarray or scalar arguments, got {type(x)} at position {i}.")


def asarray(x, dtype=None):
    """`x` as an irax array (Array or Tracer), converted to `dtype` if given."""
    if is_array(x):
        return x if dtype is None else convert(x, dtypes.canonicalize_dtype(dtype), False)
    if dtype is None:
        dtype, weak = dtypes.dtype_and_weak(x)
    else:
        dtype, weak = dtypes.canonicalize_dtype(dtype), False
    return array.constant(x, dtype, weak)


def convert(x, dtype, weak_type):
    """`x` (array or scalar) as an array of `dtype`; arrays already of that dtype
    are returned as they are."""
    if is_array(x):
        if x.dtype == dtype:
            return x
        return convert_element_type.bind(x, new_dtype=dtype, weak_type=weak_type)
    return array.constant(_wrapped(x, dtype), dtype, weak_type)


_INT32 = np.iinfo(np.int32)


def _wrapped(x, dtype):
    """As JAX: a Python int is first the default int, then cast, wrapping:
    uint8(200) + 300 is 244, uint8(3) > -1 False. Outside the default int it is
    an OverflowError whatever the other operand: float32 + 2**31 raises too."""
    if type(x) is not int:
        return x
    if not _INT32.min <= x <= _INT32.max:  # (within int32, no need to ask which the default int is)
        default = dtypes.default_int_dtype()
        if not np.iinfo(default).min <= x <= np.iinfo(default).max:
            raise OverflowError(f"Python int {x} too large to convert to {default}")
    if getattr(dtype, "kind", None) not in ("f", "c", "b") and dtypes.issubdtype(dtype, np.integer):
        return np.asarray(x, dtypes.default_int_dtype()).astype(dtype)
    return x


def as_operand(x, dtype, weak_type):
    """`convert` for an operand of the op being built: a Python or NumPy
    scalar is the kept 0-d array of its value (array.scalar_operand), which
    the op reads and never hands out. A weak array of `dtype` is made
    strong where the result is (JAX's promotion: one strong operand makes
    the others strong)."""
    if is_array(x) and x.dtype == dtype and x.weak_type and not weak_type:
        return convert_element_type.bind(x, new_dtype=dtype, weak_type=False)
    if is_array(x) or np.ndim(x) != 0:
        return convert(x, dtype, weak_type)
    return array.scalar_operand(_wrapped(x, dtype), dtype, weak_type)


def check_rank_promotion(fn_name, *args):
    """JAX's jax_numpy_rank_promotion: broadcasting arrays of different ranks
    (scalars aside) warns or raises, where the setting says so."""
    mode = config.irax_numpy_rank_promotion
    if mode == "allow" or len(args) < 2:
        return
    shapes = [np.shape(x) for x in args]
    if len({len(s) for s in shapes if s}) < 2:
        return
    shown = " ".join(map(str, shapes))
    if mode == "warn":
        warnings.warn(f"Following NumPy automatic rank promotion for {fn_name} on shapes {shown}. Set the "
                      "jax_numpy_rank_promotion config option to 'allow' to disable this warning; for more "
                      "information, see https://docs.jax.dev/en/latest/rank_promotion_warning.html.", stacklevel=4)
    else:
        raise ValueError(f"Operands could not be broadcast together for {fn_name} on shapes {shown} and with the "
                         "config option jax_numpy_rank_promotion='raise'. For more information, see "
                         "https://docs.jax.dev/en/latest/rank_promotion_warning.html.")


def promote_args(fn_name, *args):
    """Arguments converted to their common JAX result type (and rank
    promotion checked, as jnp's promote_args does)."""
    if len(args) == 2 and (with_number := _with_a_number(*args)) is not None:
        return with_number
    check_rank_promotion(fn_name, *args)
    if all(is_array(x) and x.dtype == args[0].dtype and x.weak_type == args[0].weak_type for x in args):
        return list(args)  # nothing to convert: the common eager case, kept cheap
    check_arraylike(fn_name, *args)
    dtype, weak = dtypes.lattice_result_type(*args)
    return [as_operand(x, dtype, weak) for x in args]


def _with_a_number(x, y) -> list | None:
    """[x, y] promoted where one is a strongly typed float or complex array
    and the other a Python float or int (of int32's range): the number is
    weakly typed, so the result type is the array's, and the number its
    kept 0-d array of that dtype (`x * 2.0`: ~5 us less than the lattice
    and the checks); None for any other pair."""
    for a, number in ((x, y), (y, x)):
        if (type(number) in (float, int) and is_array(a) and not a.weak_type and a.dtype.kind in "fc"
                and (type(number) is float or _INT32.min <= number <= _INT32.max)):
            operand = array.scalar_operand(number, a.dtype, False)
            return [a, operand] if a is x else [operand, a]
    return None


def promote_args_numeric(fn_name, *args):
    """Like `promote_args`, but bools become int32 (JAX's rule for arithmetic
    with no bool form: floor_divide, remainder, power, shifts, square)."""
    check_arraylike(fn_name, *args)
    check_rank_promotion(fn_name, *args)
    dtype, weak = dtypes.lattice_result_type(*args)
    dtype = np.dtype(np.int32) if dtypes.is_bool(dtype) else dtype
    return [as_operand(x, dtype, weak) for x in args]


def promote_args_inexact(fn_name, *args):
    """Like `promote_args`, but integers and bools become the default float
    (for functions like `sin` or `divide` that only make sense on floats)."""
    check_arraylike(fn_name, *args)
    check_rank_promotion(fn_name, *args)
    dtype, weak = dtypes.lattice_result_type(*args)
    dtype = dtypes.to_inexact_dtype(dtype)
    return [as_operand(x, dtype, weak) for x in args]


def canonicalize_axis(fn_name, axis, ndim):
    """A possibly negative axis as an index in range(ndim), or a clear error
    (a float is JAX's and Python's TypeError, never rounded to an axis)."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        # AxisError is both a ValueError (jnp.sum's error) and an IndexError (jnp.argmax's)
        raise np.exceptions.AxisError(f"{fn_name}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def canonicalize_axes(fn_name, axis, ndim):
    """`axis` (None, int or sequence) as a sorted tuple of distinct axes."""
    if axis is None:
        return tuple(range(ndim))
    if getattr(axis, "ndim", None) == 0:  # a 0-d integer array is one axis (a traced one JAX's ConcretizationTypeError)
        axis = operator.index(axis)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(canonicalize_axis(fn_name, a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn_name}: duplicate value in 'axis': {axis}")
    return tuple(sorted(out))
