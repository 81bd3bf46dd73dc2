"""Array creation: `array`, `zeros`, `full`, `arange`, `linspace`, `eye`, ...

Where the values are computed
-----------------------------
Eager (no trace active): a new array's values follow from host values
(lists, NumPy arrays, shapes, Python numbers), so they are computed on the
host with NumPy and uploaded, with no compile. The creation primitives take
their shape as a parameter, so an eager kernel would be compiled for every
shape, and one IREE compile (~0.3 s) costs far more than NumPy filling the
array.

Traced (inside `jit`, `grad` or a kernel being built: `core.current_trace()`
is set): the same functions bind the `iota` and `full` primitives, so the
program holds `linalg.fill` / `linalg.index` loops rather than big constants.
`array` of host data is the exception: that data becomes a dense constant.

Formulas such as arange's `start + step * iota` are written once, against
the few array operations they need: `_HOST` runs them with NumPy, `_TRACED`
binds primitives. Both paths therefore compute the same values in the same
dtypes; the formulas are JAX's, so results agree with JAX's up to
float rounding (XLA may fuse `a * b + c` into one FMA).

An irax array given to `array`/`asarray` is returned as it is when nothing
changes; otherwise, eagerly, it takes the host path too (fetch, convert,
upload), and in a trace it is converted by device ops.
"""
from __future__ import annotations

import math
import operator
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from irax import tree_util
from irax.frontend import core, dtypes
from irax.frontend.array import constant, device_put, device_put_numpy, numpy_value
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy import ufuncs, util
from irax.frontend.primitives import creation as prims
from irax.frontend.primitives.elementwise import convert_element_type
from irax.frontend.primitives.shape import broadcast_in_dim
from irax.plugins.registry import default_device, devices, get_default_device
from irax.typing import Array, ArrayLike, DeviceLike, DTypeLike, Shape


def _tracing() -> bool:
    return core.current_trace() is not None


def _host_iota(dtype, shape, dimension):
    prims.iota.abstract_eval(shape=shape, dtype=dtype, dimension=dimension)  # the primitive's checks
    index = np.arange(shape[dimension]).astype(dtype)
    return np.broadcast_to(index.reshape([-1 if d == dimension else 1 for d in range(len(shape))]), shape)


def _host_broadcast_in_dim(x, shape, dims):
    """lax.broadcast_in_dim on the host: dim i of `x` becomes dim dims[i]."""
    placed = [1] * len(shape)
    for i, d in enumerate(dims):
        placed[d] = x.shape[i]
    return np.broadcast_to(x.reshape(placed), shape)


def _host_fma(a, b, c):
    """a * b + c rounded once (a fused multiply-add, as XLA's CPU code gives),
    in float64 for narrower floats (their products are exact there)."""
    if a.dtype.itemsize >= 8:
        return a * b + c
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(a.dtype)


def _traced_cast(x, dtype):
    if util.is_array(x):
        return util.convert(x, dtype, False)
    return constant(np.asarray(x).astype(dtype))


# The operations creation formulas use. `cast` wraps out-of-range integers
# (-1 -> 255 for uint8) as lax.convert_element_type does.
_HOST = SimpleNamespace(
    iota=_host_iota,
    cast=lambda x, dtype: np.asarray(x).astype(dtype),
    floor=np.floor,
    where=np.where,
    fma=_host_fma,
    broadcast_in_dim=_host_broadcast_in_dim,
    finish=lambda x, weak_type=False: device_put_numpy(np.asarray(x), weak_type=weak_type),
)
_TRACED = SimpleNamespace(
    iota=lambda dtype, shape, dimension: prims.iota.bind(shape=tuple(shape), dtype=np.dtype(dtype), dimension=dimension),
    cast=_traced_cast,
    floor=ufuncs.floor,
    where=ufuncs.where,
    fma=lambda a, b, c: a * b + c,  # (two roundings: irax has no fused multiply-add primitive)
    broadcast_in_dim=lambda x, shape, dims: broadcast_in_dim.bind(x, shape=tuple(shape), broadcast_dimensions=tuple(dims)),
    finish=lambda x, weak_type=False: x,  # a tracer's weak type is already in its aval
)


def _ops():
    return _TRACED if _tracing() else _HOST


def canonicalize_shape(shape, fn_name="shape") -> tuple:
    """An int or a sequence of ints (concrete arrays too) as a tuple of
    non-negative ints."""
    out = shape_ops.shape_tuple(shape)
    if any(d < 0 for d in out):
        raise TypeError(f"{fn_name}: shape must have every element be nonnegative, got {out}.")
    return out


def _dtype_or(dtype, default):
    return dtypes.canonicalize_dtype(default if dtype is None else dtype)


def _inexact(dtype):
    """`dtype` if floating or complex, else the default float."""
    return dtype if dtypes.is_float(dtype) or dtypes.is_complex(dtype) else dtypes.default_float_dtype()


def _placed(device, make, *args):
    """`make(*args)` built on `device` and committed to it: the `device=` of
    JAX's creation functions. Built there (it is the default device while
    `make` runs), so host data is uploaded once, to where it belongs. In a
    trace the device means nothing (device_put passes tracers through)."""
    if device is None:
        return make(*args)
    with default_device(device):
        return device_put(make(*args), device)


# ---------------------------------------------------------------------------
# Arrays from data.

def array(object: Any, dtype: DTypeLike | None = None, copy: bool = True, order: str | None = "K", ndmin: int = 0, *,
          device: DeviceLike | None = None) -> Array:
    """An irax array from an array, a scalar, or nested lists and tuples of them.

    Like `jax.numpy.array`: without `dtype`, the leaves promote together
    (Python ints -> int32, floats -> float32, an empty list -> float32, int64
    NumPy data -> int32 unless x64 mode is on), and the result is weakly typed
    only when `object` itself is (a Python scalar or a weak array). With a
    `device`, the result is there, committed to it.
    """
    if order is not None and order != "K":
        raise NotImplementedError("Only implemented for order='K'")
    return _placed(device, _array, object, dtype, copy, ndmin)


def _array(object, dtype, copy, ndmin):
    dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
    weak = dtype is None and dtypes.is_weakly_typed(object)
    if util.is_array(object):
        if _tracing():
            return _adjust(object, dtype, ndmin)  # a copy means nothing in a trace
        unchanged = dtype in (None, object.dtype) and weak == object.weak_type and ndmin <= object.ndim
        if unchanged and not copy:
            return object
        if not unchanged:  # converted on its device, not through the host (a gradient taken op by op flows on)
            return _adjust(object, dtype, ndmin)
    leaves = tree_util.tree_leaves(object, is_leaf=lambda x: not isinstance(x, (list, tuple)))
    if any(leaf is None for leaf in leaves):
        raise ValueError("None is not a valid value for jnp.array")
    if dtype is None:
        dtype = dtypes.lattice_result_type(*leaves)[0] if leaves else dtypes.default_float_dtype()
    if any(isinstance(leaf, core.Tracer) for leaf in leaves):  # stacked, as in JAX
        return _adjust(shape_ops.stack([array(item, dtype, copy=False) for item in object]), None, ndmin)
    value = numpy_value(object, dtype)
    value = value.reshape((1,) * (ndmin - value.ndim) + value.shape)
    return constant(value, dtype, weak)


def _adjust(x, dtype, ndmin, warn=True):
    """An irax array `x` converted to `dtype` (a strong type) and given at
    least `ndmin` dimensions; `x` itself if nothing changes. `warn`: the
    ComplexWarning where imaginary parts are dropped."""
    if dtype is not None and (dtype != x.dtype or x.weak_type):
        if warn:
            dtypes.warn_complex_to_real(x.dtype, dtype, stacklevel=4)
        x = convert_element_type.bind(x, new_dtype=dtype, weak_type=False)
    if ndmin > x.ndim:
        x = shape_ops.reshape(x, (1,) * (ndmin - x.ndim) + x.shape)
    return x


def asarray(a: Any, dtype: DTypeLike | None = None, order: str | None = None, *, copy: bool | None = None,
            device: DeviceLike | None = None) -> Array:
    """`array(a, dtype)` that returns irax arrays as they are unless asked to
    copy. copy=False promises no copy, so, as in JAX, host data that would
    have to be copied to a device other than the CPU is an error."""
    if copy is False and not util.is_array(a) and (platform := _platform(device)) != "cpu" and _has_buffer(a):
        raise ValueError(f"jnp.asarray: cannot convert object of type {type(a)} to JAX Array "
                         f"on platform={platform} with copy=False. Consider using copy=None or copy=True instead.")
    return array(a, dtype=dtype, copy=bool(copy), order=order, device=device)


def _platform(device) -> str:
    device = device or get_default_device()
    return getattr(device, "platform", device)  # a backend name stands for its devices


def _has_buffer(a) -> bool:
    """Whether `a` exposes its memory (the buffer protocol), so it could be shared rather than copied."""
    try:
        memoryview(a)
    except TypeError:
        return False
    return True


def from_dlpack(x: Any, /, *, device: DeviceLike | None = None, copy: bool | None = None) -> Array:
    """An irax array of the data of `x`, an array of another library (NumPy,
    JAX, PyTorch ...: anything with `__dlpack__`), on `device` (committed to
    it when given), as jax.numpy.from_dlpack. An irax array stays as it is
    where `device` and `copy` allow. Other data is read through NumPy's
    DLPack import (host memory) and copied into a buffer of irax's own: an
    irax array is immutable, which memory shared with its exporter is not,
    and IREE keeps imported host memory alive only as long as the buffer
    object that imported it, not as long as results aliasing it. So
    copy=False is an error there."""
    if not hasattr(x, "__dlpack__") or not hasattr(x, "__dlpack_device__"):
        raise TypeError("The array passed to from_dlpack must have __dlpack__ and __dlpack_device__ methods.")
    if isinstance(x, Array):
        device = devices(device)[0] if isinstance(device, str) else device  # a backend name: its first device
        if copy is False and device is not None and device is not x.device:
            raise ValueError(f"Specified {device=} which requires a copy since the source device is {x.device!r}, "
                             "however copy=False. Set copy=True or copy=None to perform the requested operation.")
        return asarray(x, copy=copy, device=device)
    if copy is False:
        raise ValueError("irax.numpy.from_dlpack copies the data into a buffer of irax's own (irax arrays are "
                         "immutable), however copy=False. Set copy=True or copy=None to perform the requested "
                         "operation.")
    return asarray(np.from_dlpack(x), device=device)


def copy(a: ArrayLike, order: str | None = None) -> Array:
    """A copy of `a` in a new buffer."""
    return array(a, copy=True, order=order)


def astype(x: ArrayLike, dtype: DTypeLike | None, /, *, copy: bool = False, device: DeviceLike | None = None) -> Array:
    """`x` converted to `dtype` (the default float if None) as
    lax.convert_element_type converts (floats truncate toward zero); `x`
    itself when it already has that dtype, unless `copy`."""
    util.check_arraylike("astype", x)
    return _placed(device, _astype, x, _dtype_or(dtype, float), copy)


def _astype(x, dtype, copy):
    x = util.asarray(x)
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(dtype):
        warnings.warn("Casting from complex to real dtypes will soon raise a ValueError. Please first use jnp.real "
                      "or jnp.imag to take the real/imaginary component of your input.", DeprecationWarning,
                      stacklevel=4)
    out = _adjust(x, dtype, 0, warn=False)
    return array(out, copy=True) if copy and out is x else out


def astype_method(self, dtype, copy=False, device=None):
    """x.astype(dtype), whose parameters, unlike jnp.astype's, may be named."""
    return astype(self, dtype, copy=copy, device=device)


# ---------------------------------------------------------------------------
# Arrays of one value.

def _full(shape, fill_value, dtype, weak_type):
    """`fill_value` (a scalar, or an array that broadcasts) at every position of `shape`.
    An irax array is broadcast on its device, never read back to the host: a
    gradient taken op by op (tape.py) flows through it, as through a trace."""
    if not _tracing() and not util.is_array(fill_value):
        return _HOST.finish(np.broadcast_to(_HOST.cast(fill_value, dtype), shape), weak_type)
    if np.ndim(fill_value) > 0:
        return shape_ops.broadcast_to(array(fill_value, dtype, copy=False), shape)
    params = dict(shape=shape, dtype=dtype, weak_type=weak_type)
    if util.is_array(fill_value):
        return prims.full.bind(array(fill_value, dtype, copy=False), **params)
    return prims.full.bind(fill_value=_HOST.cast(fill_value, dtype).item(), **params)


def full(shape: int | Shape, fill_value: ArrayLike, dtype: DTypeLike | None = None, *,
         device: DeviceLike | None = None) -> Array:
    """An array of `shape` filled with `fill_value`, which may be an array that
    broadcasts to `shape`. Weakly typed when `fill_value` is and `dtype` is None."""
    util.check_arraylike("full", fill_value)
    weak = dtype is None and dtypes.is_weakly_typed(fill_value)
    dtype = dtypes.dtype_and_weak(fill_value)[0] if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _placed(device, _full, canonicalize_shape(shape, "full"), fill_value, dtype, weak)


def _is_float0(dtype) -> bool:
    """float0, the dtype of integer inputs' tangents: no irax array holds it, so
    its zeros are a NumPy array, as JAX's are a host array (jvp takes them)."""
    return dtype is not None and np.dtype(dtype) == dtypes.float0


def zeros(shape: int | Shape, dtype: DTypeLike | None = None, *, device: DeviceLike | None = None) -> Array:
    """An array of `shape` filled with zeros (of the default float dtype unless given)."""
    if _is_float0(dtype):
        return np.zeros(canonicalize_shape(shape, "zeros"), dtypes.float0)
    return _placed(device, _full, canonicalize_shape(shape, "zeros"), 0, _dtype_or(dtype, float), False)


def ones(shape: int | Shape, dtype: DTypeLike | None = None, *, device: DeviceLike | None = None) -> Array:
    """An array of `shape` filled with ones (of the default float dtype unless given)."""
    return _placed(device, _full, canonicalize_shape(shape, "ones"), 1, _dtype_or(dtype, float), False)


empty = zeros  # irax arrays are never uninitialized


def full_like(a: ArrayLike, fill_value: ArrayLike, dtype: DTypeLike | None = None, shape: int | Shape | None = None, *,
              device: DeviceLike | None = None) -> Array:
    """`full` with the dtype (and weak type) and shape of `a` unless given."""
    util.check_arraylike("full_like", a, fill_value)
    a_dtype, a_weak = dtypes.dtype_and_weak(a)
    shape = np.shape(a) if shape is None else shape
    weak = dtype is None and a_weak
    return _placed(device, _full, canonicalize_shape(shape, "full_like"), fill_value, _dtype_or(dtype, a_dtype), weak)


def zeros_like(a: ArrayLike, dtype: DTypeLike | None = None, shape: int | Shape | None = None, *,
               device: DeviceLike | None = None) -> Array:
    """Zeros with the dtype and shape of `a` unless given."""
    if _is_float0(dtype):
        return np.zeros(np.shape(a) if shape is None else canonicalize_shape(shape, "zeros_like"), dtypes.float0)
    return full_like(a, 0, dtype, shape, device=device)


def ones_like(a: ArrayLike, dtype: DTypeLike | None = None, shape: int | Shape | None = None, *,
              device: DeviceLike | None = None) -> Array:
    """Ones with the dtype and shape of `a` unless given."""
    return full_like(a, 1, dtype, shape, device=device)


def empty_like(prototype: ArrayLike, dtype: DTypeLike | None = None, shape: int | Shape | None = None, *,
               device: DeviceLike | None = None) -> Array:
    """`zeros_like`: irax arrays are never uninitialized."""
    return zeros_like(prototype, dtype, shape, device=device)


# ---------------------------------------------------------------------------
# Arrays of positions: formulas over iota.

def _concrete_scalar(x, name):
    """The Python number in a concrete scalar argument of arange."""
    if isinstance(x, core.Tracer):
        raise core.ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: {x!r}. "
            f"It arose in the jnp.arange argument '{name}': the size of arange's result must be "
            "known while tracing. Pass a Python number or mark the argument static."
        )
    value = np.asarray(x)
    if value.ndim != 0:
        raise ValueError(f"jax.numpy.arange: arguments must be scalars; got {name}={x}")
    return value.item()


def arange(start: ArrayLike, stop: ArrayLike | None = None, step: ArrayLike | None = None,
           dtype: DTypeLike | None = None, *, device: DeviceLike | None = None) -> Array:
    """Evenly spaced values in [start, stop), as `jax.numpy.arange`:

        arange(stop)              iota
        arange(start, stop)       start + iota
        arange(start, stop, step) start + step * iota, computed in float32 for
                                  half-precision results

    The dtype is that of the arguments (int32 for Python ints, float32 for
    floats). Arguments must be concrete: the size is ceil((stop - start) / step).
    """
    return _placed(device, _arange, start, stop, step, dtype)


def _arange(start, stop, step, dtype):
    if start is None:
        raise TypeError("arange() requires stop to be specified.")
    args = [x for x in (start, stop, step) if x is not None]
    util.check_arraylike("arange", *args)
    names = ("stop" if stop is None and step is None else "start", "stop", "step")
    start, stop, step = (None if x is None else _concrete_scalar(x, n) for x, n in zip((start, stop, step), names))
    dtype = dtypes.result_type(*args) if dtype is None else dtypes.canonicalize_dtype(dtype)
    if stop is None:
        start, stop = 0, start
    ops = _ops()
    if step is None:
        iota = ops.iota(dtype, (max(0, math.ceil(stop - start)),), 0)
        return ops.finish(iota if start == 0 else ops.cast(start, dtype) + iota)
    size = max(0, math.ceil((stop - start) / step))
    working = dtypes.float32 if dtypes.is_float(dtype) and dtype.itemsize < 4 else dtype
    values = ops.cast(start, working) + ops.cast(step, working) * ops.iota(working, (size,), 0)
    return ops.finish(ops.cast(values, dtype))


def linspace(start: ArrayLike, stop: ArrayLike, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: DTypeLike | None = None, axis: int = 0, *,
             device: DeviceLike | None = None) -> Array | tuple[Array, Array]:
    """`num` evenly spaced values from `start` to `stop` (included if `endpoint`),
    as `jax.numpy.linspace`: with t = i / (num - 1) (or / num),

        out = start * (1 - t) + stop * t

    which hits both ends exactly (the end is `stop` itself). Integer dtypes
    take the floor. `start` and `stop` may be arrays: the samples run along a
    new axis `axis` of their broadcast shape. With `retstep`, also the
    spacing (NaN if num < 2 with endpoint).
    """
    return _placed(device, _linspace, start, stop, num, endpoint, retstep, dtype, axis)


def _linspace(start, stop, num, endpoint, retstep, dtype, axis):
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    util.check_arraylike("linspace", start, stop)
    bounds = np.broadcast_shapes(np.shape(start), np.shape(stop))
    axis = util.canonicalize_axis("linspace", axis, len(bounds) + 1)
    dtype = _inexact(dtypes.result_type(start, stop)) if dtype is None else dtypes.canonicalize_dtype(dtype)
    work = _inexact(dtype)
    ops = _ops()
    start, stop = ops.cast(start, work), ops.cast(stop, work)
    div = num - 1 if endpoint else num
    # The last bit of each value as JAX's on CPU (it decides which bin of a
    # histogram a value on an edge falls in: histogram(a, range=(0, 25),
    # bins=5) has its edge 15 exactly): XLA turns JAX's t = i / div into
    # i * r with r = 1 / div, reassociates stop * (i * r) as i * (stop * r),
    # and fuses that last product into the sum. The end is stop itself, as
    # JAX appends it.
    i = np.arange(num).astype(work).reshape((num,) + (1,) * len(bounds))
    r = np.reciprocal(np.asarray(max(div, 1), work))
    out = ops.fma(ops.cast(i, work), stop * ops.cast(r, work), start * ops.cast(1 - i * r, work))
    if endpoint and num > 1:
        out = ops.where(i == div, stop, out)
    if dtypes.is_int(dtype):
        out = ops.floor(out)
    out = shape_ops.moveaxis(ops.finish(ops.cast(out, dtype)), 0, axis)
    if not retstep:
        return out
    step = (stop - start) / ops.cast(div, work) if div > 0 else ops.cast(np.nan, work)
    return out, ops.finish(step)


def _diagonal_mask(fn_name, N, M, k, compare, dtype):
    """compare(i + k, j) over the (N, M) grid of row i and column j, as `dtype`.

    With 0 <= i < N and 0 <= j < M, every k >= M puts i + k past every j and
    every k <= -N puts it before every j, so k is clipped to [-N, M]: the
    same grid, and i + k fits the index dtype however large k is."""
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    if N < 0 or M < 0:
        raise ValueError(f"{fn_name}: negative dimensions are not allowed, got {N} and {M}")
    k = min(max(operator.index(k), -N), M)
    ops = _ops()
    index = dtypes.default_int_dtype()
    i, j = ops.iota(index, (N, M), 0), ops.iota(index, (N, M), 1)
    return ops.finish(ops.cast(compare(i + k, j), _dtype_or(dtype, float)))


def eye(N: int, M: int | None = None, k: int = 0, dtype: DTypeLike | None = None, *,
        device: DeviceLike | None = None) -> Array:
    """Ones on the k-th diagonal (i + k == j) of an N x M matrix, zeros elsewhere."""
    return _placed(device, _diagonal_mask, "eye", N, M, k, operator.eq, dtype)


def identity(n: int, dtype: DTypeLike | None = None) -> Array:
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: DTypeLike | None = None) -> Array:
    """Ones at and below the k-th diagonal (i + k >= j), zeros above."""
    return _diagonal_mask("tri", N, M, k, operator.ge, dtype)


def _triangle(fn_name, m, k, lower):
    """`m` where tri(k) over its last two axes (i + k >= j) is `lower`, zero elsewhere."""
    util.check_arraylike(fn_name, m)
    m = util.asarray(m)
    if m.ndim < 2:
        raise ValueError(f"Argument to jax.numpy.{fn_name} must be at least 2D")
    mask, zero = tri(*m.shape[-2:], k, bool), np.zeros((), m.dtype)
    return ufuncs.where(mask, m, zero) if lower else ufuncs.where(mask, zero, m)


def tril(m: ArrayLike, k: int = 0) -> Array:
    """`m` with the entries above the k-th diagonal zeroed (the last two axes)."""
    return _triangle("tril", m, k, True)


def triu(m: ArrayLike, k: int = 0) -> Array:
    """`m` with the entries below the k-th diagonal zeroed (the last two axes)."""
    return _triangle("triu", m, k - 1, False)


def meshgrid(*xi: ArrayLike, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list[Array]:
    """Coordinate grids of 1-D arrays: output i holds xi[i] along axis i and
    repeats it along the others (size 1 there if `sparse`); indexing='xy'
    swaps axes 0 and 1, as for (x, y) image coordinates. `copy` is ignored:
    the outputs are always new arrays."""
    util.check_arraylike("meshgrid", *xi)
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for indexing are 'xy' and 'ij', got {indexing!r}.")
    shapes = [np.shape(x) for x in xi]
    if any(len(s) != 1 for s in shapes):
        raise ValueError(f"Arguments to jax.numpy.meshgrid must be 1D, got shapes {shapes}")
    axes = list(range(len(xi)))
    if indexing == "xy" and len(xi) >= 2:
        axes[:2] = [1, 0]
    sizes = [0] * len(xi)
    for s, axis in zip(shapes, axes):
        sizes[axis] = s[0]
    ops, grids = _ops(), []
    for x, axis in zip(xi, axes):
        dtype, weak = dtypes.dtype_and_weak(x)
        shape = [n if i == axis else 1 for i, n in enumerate(sizes)] if sparse else sizes
        grids.append(ops.finish(ops.broadcast_in_dim(ops.cast(x, dtype), shape, (axis,)), weak))
    return grids


__all__ = [
    "array", "asarray", "copy", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
    "full_like", "arange", "linspace", "eye", "identity", "tri", "tril", "triu", "meshgrid", "astype", "from_dlpack",
]
