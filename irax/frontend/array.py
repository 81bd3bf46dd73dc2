"""`irax.Array`: an immutable array whose data lives in an IREE device buffer."""
import enum
import gc
import hashlib
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.config import config
from irax.frontend import core, dtypes, printing
from irax.frontend.array_methods import ArrayMethods
from irax.frontend.core import ShapedArray
from irax.frontend.sharding import PartitionSpec, Shard, Sharding, SingleDeviceSharding, over_context_mesh
from irax.plugins import Device
from irax.plugins.registry import default_backend, devices, get_default_device


class Array(ArrayMethods):
    """An n-dimensional array on a device. Immutable: use `x.at[i].set(v)`."""

    __slots__ = ("_buffer", "aval", "device", "_committed", "_host", "_ready", "_views", "_storage", "__weakref__")

    def __init__(self, buffer, aval: ShapedArray, device, committed=False, ready=0):
        self._buffer = buffer
        self.aval = aval
        self.device = device
        self._committed = committed
        self._host = None
        self._ready = ready  # while the call writing it may still run: its number on the device (runtime.py)
        self._views = None  # weak references to the arrays sharing its buffer, itself too (executable.py)
        self._storage = None  # the IREE buffer under _buffer, once executable.py asked for it (~1 us a fetch)

    @property
    def committed(self) -> bool:
        """Whether the array was put on its device on purpose (see `place`)."""
        return self._committed

    def devices(self) -> set:
        """The devices holding the array: one (jax.Array.devices())."""
        return {self.device}

    @property
    def sharding(self) -> SingleDeviceSharding:
        """How the array lies on devices: whole, on its one (jax.Array.sharding)."""
        return SingleDeviceSharding(self.device)

    # jax.Array's queries of where the data lies, for an array whole on one device
    is_fully_addressable = True
    is_fully_replicated = True

    @property
    def addressable_shards(self) -> list[Shard]:
        """Each device's part of the array (jax.Array.addressable_shards): the whole, on its one device."""
        return [Shard(self.device, self.sharding, self.shape, self)]

    global_shards = addressable_shards

    def addressable_data(self, index: int) -> "Array":
        """The data of the `index`-th device holding the array: itself, on its one device."""
        if index != 0:
            raise IndexError(f"list index out of range: the array lies on one device, got index {index}")
        return self

    def on_device_size_in_bytes(self) -> int:
        """The bytes the array takes on its device: its nbytes (dense, no padding)."""
        return self.nbytes

    def platform(self) -> str:
        """Its device's platform name ("cpu", "vulkan", ...)."""
        return self.device.platform

    def clone(self) -> "Array":
        """A copy of the array, in a buffer of its own (jax.Array.clone)."""
        return self.copy()

    @property
    def flat(self):
        raise NotImplementedError("JAX Arrays do not implement the arr.flat property: consider arr.flatten() instead.")

    # --- data on the host -------------------------------------------------
    def tobytes(self, order: str = "C") -> bytes:
        """The elements' bytes, as NumPy's ndarray.tobytes."""
        return self._value.tobytes(order)

    @property
    def _value(self) -> np.ndarray:
        """A read-only host copy, fetched once."""
        check_not_deleted([self])
        if self._host is None:
            fetch_after = self._ready and getattr(self.device, "fetch_after", None)  # (optional for a plugin's)
            if fetch_after:
                host = fetch_after(self._ready, self._buffer, self.dtype, self.shape)
                self._ready = 0
            else:
                self.block_until_ready()
                host = self.device.fetch(self._buffer, self.dtype, self.shape)
            host.flags.writeable = False
            self._host = host
        return self._host

    def __array__(self, dtype=None, copy=None):
        value = self._value
        if dtype is not None and np.dtype(dtype) != value.dtype:
            return value.astype(dtype)
        return value.copy() if copy else value

    def copy_to_host_async(self):
        """Make the host copy that np.asarray(x) reads (jax.Array.copy_to_host_async).
        irax's copy is synchronous: this waits for the array to be computed."""
        self._value  # noqa: B018 (fetched once, then kept)

    # --- DLPack ---------------------------------------------------------
    # The exchange is host memory. IREE's CPU drivers keep buffers in host
    # memory, so an array on the CPU exports its own buffer, mapped (no
    # copy); IREE gives no pointer to GPU memory, so an array elsewhere
    # exports its host copy. Either way the capsule holds CPU memory, which
    # is what __dlpack_device__ says. Arrays are immutable, so a shared
    # buffer goes out marked read-only, which only a versioned (DLPack 1.0)
    # capsule can say: an unversioned one (max_version=None, what
    # jax.numpy.from_dlpack asks for) gets a copy of its own.
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if stream is not None:
            raise BufferError(f"irax exports host memory, for which the DLPack stream must be None; got {stream=}.")
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"irax exports host memory (dl_device={self.__dlpack_device__()}); got {dl_device=}.")
        versioned = max_version is not None and tuple(max_version) >= (1, 0)
        shared = self._shared_host_view() if copy is not True and versioned else None
        if shared is None and copy is False:
            why = ("its buffer is not host memory that irax can share" if versioned else
                   "an unversioned capsule (max_version < (1, 0)) cannot mark it read-only")
            raise BufferError(f"Exporting this array on {self.device} requires a copy: {why}; however copy=False. "
                              "Set copy=True or copy=None to perform the requested operation.")
        if shared is not None:
            host = shared
        elif versioned and not copy:
            host = self._value  # the read-only host copy irax keeps anyway
        else:
            host = np.array(self._value)  # the consumer's own
        return host.__dlpack__(max_version=max_version)

    def __dlpack_device__(self) -> tuple:
        return DLDeviceType.kDLCPU, 0

    def _shared_host_view(self):
        """A read-only NumPy view of the buffer itself where the device keeps
        it in host memory (its optional `host_view`), else None. The view
        keeps the buffer alive; a call donated this array writes into a copy
        instead while the view lives (executable.py's `_views`)."""
        host_view = getattr(self.device, "host_view", None)
        if host_view is None:
            return None
        check_not_deleted([self])
        self.block_until_ready()
        view = host_view(self._buffer, self.dtype, self.shape)
        if view is not None:
            if self._views is None:
                self._views = [weakref.ref(self)]
            self._views.append(weakref.ref(view))
        return view

    def delete(self):
        """Free the device buffer; the array can no longer be used (as after donation)."""
        self._buffer = self._host = self._storage = None

    def is_deleted(self):
        return self._buffer is None

    def block_until_ready(self):
        """Wait until the call computing this array has finished; returns the array."""
        if self._ready:
            self.device.wait(self._ready)
            self._ready = 0
        return self

    def is_ready(self) -> bool:
        """Whether the array's data has been computed (without waiting)."""
        return not self._ready or self.device.wait(self._ready, block=False)

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def _scalar(self, convert, name):
        if self.ndim != 0:
            raise TypeError(f"Only scalar arrays can be converted to Python scalars; got arr.ndim={self.ndim}")
        return convert(self._value)

    def __bool__(self):
        if self.size == 0:
            raise ValueError("The truth value of an empty array is ambiguous. Use `array.size > 0` to check that an array is not empty.")
        if self.size > 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()")
        return bool(self._value.reshape(()))

    def __int__(self):
        return self._scalar(int, "int")

    def __float__(self):
        return self._scalar(float, "float")

    def __complex__(self):
        return self._scalar(complex, "complex")

    def __index__(self):
        if self.ndim != 0 or not dtypes.is_int(self.dtype):
            raise TypeError("Only integer scalar arrays can be converted to a scalar index.")
        return int(self._value)

    # --- printing -----------------------------------------------------------
    def __repr__(self):
        return printing.array_repr(self._value, self.weak_type)

    def __str__(self):
        return str(self._value)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self._value.item(), spec)
        return format(self._value, spec)

    def __reduce__(self):  # rebuilt as an irax Array with its weak type, like JAX
        return (device_put_numpy, (np.array(self._value), None, self.weak_type))


core.CONCRETE_ARRAY_ATTRIBUTES.update(name for name in dir(Array) if not name.startswith("__"))


class DLDeviceType(enum.IntEnum):
    """DLPack's device types; irax's exports are host memory."""
    kDLCPU = 1


def device_put_numpy(array: np.ndarray, device=None, weak_type=False, committed=False) -> Array:
    """Upload a NumPy array (dtype already canonical) to `device` (default: the default device)."""
    device = device or get_default_device()
    return Array(device.put(array), canonical_aval(ShapedArray(array.shape, array.dtype, weak_type)), device, committed)


# Equal avals as one object, so that comparing the avals of arrays (in the
# keys of jit's and the eager ops' dispatch caches, at every call) is an
# identity test, not ShapedArray.__eq__ (~0.2 us each: ~40 us a call of a
# 200-leaf tree). The arrays irax makes take their aval from here: uploads
# (device_put_numpy) and programs' results (executable.Executable). Bounded:
# when full it starts again, after which equal avals still compare equal,
# only slower.
_avals: dict = {}
AVALS_KEPT = 1 << 16


def canonical_aval(aval: ShapedArray) -> ShapedArray:
    """The one kept ShapedArray equal to `aval` (`aval` itself, the first time)."""
    found = _avals.get(aval)
    if found is None:
        if len(_avals) >= AVALS_KEPT:
            _avals.clear()
        found = _avals.setdefault(aval, aval)
    return found


def device_get(x: Any) -> Any:
    """`x` with its irax arrays as NumPy arrays on the host (jax.device_get);
    other leaves as they are."""
    return tree_util.tree_map(lambda leaf: np.asarray(leaf) if isinstance(leaf, Array) else leaf, x)


def copy_to_host_async(x: Any) -> Any:
    """Start the host copy of every irax array in the pytree `x` (which
    np.asarray then reads); returns `x` (jax.copy_to_host_async)."""
    for leaf in tree_util.tree_leaves(x):
        if isinstance(leaf, Array):
            leaf.copy_to_host_async()
    return x


def live_arrays(platform: str | None = None) -> list:
    """The irax arrays alive (not deleted) on the backend `platform` (default:
    the default backend), as jax.live_arrays. Arrays are found by the garbage
    collector's walk, so making one costs no bookkeeping."""
    platform = platform or default_backend()
    return [a for a in gc.get_objects()
            if isinstance(a, Array) and a.device.platform == platform and not a.is_deleted()]


def device_put(x: Any, device: Device | str | None = None, *, src: Any = None, donate: bool = False,
               may_alias: bool | None = None) -> Any:
    """`x` (a pytree of arrays and array-likes) on `device`, as jax.device_put.
    With a device (or backend name) the results are committed to it; an
    uncommitted array already there is committed and returned as it is
    (a copy with may_alias=False). Without one, arrays stay where they are
    and other values go to the default device, uncommitted. `donate` deletes
    an array that was copied to another device. Inside a trace, arrays pass
    through. (`src`, JAX's hint of where x is, is not needed: an Array knows.)"""
    if isinstance(device, PartitionSpec):
        device = over_context_mesh(device, ValueError(
            "Please set a mesh via `irax.set_mesh` if a PartitionSpec is passed to device_put"))
    if isinstance(device, str):
        device = devices(device)[0]
    elif isinstance(device, Sharding):
        device = _the_device(device)

    def put(x):
        if isinstance(x, Array):
            if device is None or x.device is device:
                if may_alias is False:  # (a new buffer, on x's device: through host memory, as a transfer)
                    return _transfer(x, x.device, committed=x._committed or device is not None)
                x._committed = x._committed or device is not None
                return x
            moved = _transfer(x, device, committed=True)
            if donate:
                x.delete()
            return moved
        if core.current_trace() is not None:
            return x
        dtype, weak = dtypes.dtype_and_weak(x)
        return device_put_numpy(np.asarray(x, dtype), device, weak, committed=device is not None)

    return tree_util.tree_map_data(put, x)  # (a key array: its data, rebuilt)


def _the_device(sharding: Sharding) -> Device:
    """The one device `sharding` lays an array on, or what to do instead."""
    if sharding.num_devices != 1:
        raise ValueError(
            f"irax puts an array whole on one device; got a sharding over {sharding.num_devices}. Split work into "
            "blocks over a mesh with irax.shard_map (its in_specs cut the whole array), spread it over devices "
            "with irax.pmap, or give a sharding of one device (SingleDeviceSharding, or a NamedSharding over a "
            "mesh of one device: irax.make_mesh((1,), ('x',))).")
    (device,) = sharding.device_set
    return device


def _shard_of(shape: tuple, sharding: Sharding, data: Any, dtype: Any, what: str) -> Array:
    """`data` as the one shard of an array of `shape` laid out by `sharding`
    (its device's whole array), checked as JAX's make_array_from_* check."""
    device = _the_device(sharding)
    data = device_put(data if isinstance(data, Array) else np.asarray(data), device)
    if dtype is not None and np.dtype(dtype) != data.dtype:
        raise ValueError(f"If `dtype` is provided to `irax.{what}`, it must match the dtype of the addressable "
                         f"shards. Got dtype={np.dtype(dtype)} and shard dtype={data.dtype}`.")
    expected = sharding.shard_shape(tuple(shape))
    if data.shape != expected:
        raise ValueError(f"Expected shard shape {expected} doesn't match the single device array shape {data.shape}. "
                         f"Shape of Array is {data.dtype}[{','.join(map(str, shape))}] with sharding {sharding}")
    return data


def make_array_from_callback(shape: Sequence[int], sharding: Sharding, data_callback: Callable[[tuple], Any],
                             dtype: Any = None) -> Array:
    """The array of `shape` whose part on each device of `sharding` is
    `data_callback(its index)`, a tuple of slices (jax.make_array_from_callback):
    irax's arrays lie whole on one device, so one call, for the whole."""
    index = sharding.devices_indices_map(tuple(shape))[_the_device(sharding)]
    return _shard_of(shape, sharding, data_callback(index), dtype, "make_array_from_callback")


def make_array_from_single_device_arrays(shape: Sequence[int], sharding: Sharding, arrays: Sequence[Any], *,
                                         dtype: Any = None) -> Array:
    """The array of `shape` made of one array per device of `sharding`
    (jax.make_array_from_single_device_arrays): here one, the whole."""
    if len(arrays) != 1:
        raise ValueError(f"Expected 1 per-device arrays (this is how many devices are addressable by the sharding), "
                         f"but got {len(arrays)}")
    return _shard_of(shape, sharding, arrays[0], dtype, "make_array_from_single_device_arrays")


def make_array_from_process_local_data(sharding: Sharding, local_data: Any, global_shape: Sequence[int] | None = None
                                       ) -> Array:
    """This process's `local_data` as the array `sharding` lays out
    (jax.make_array_from_process_local_data): in one process, the whole."""
    shape = np.shape(local_data)
    if global_shape is not None and tuple(global_shape) != shape:
        raise ValueError(f"When calling `make_array_from_process_local_data` on a single process, global_shape "
                         f"should be None or equal to local_data.shape.Got global_shape={tuple(global_shape)} and "
                         f"local_data.shape={shape}.")
    return _shard_of(shape, sharding, local_data, None, "make_array_from_process_local_data")


def block_until_ready(x: Any) -> Any:
    """Wait for every array in the pytree `x` to be computed; returns `x` (jax.block_until_ready)."""
    _block(x)
    return x


def _block(x):
    """block_until_ready's walk: dicts, lists and tuples (which are always
    pytree nodes of their values) directly, ~6x cheaper than flattening
    them (a training loop blocks on its state at each step); any other node
    by tree_util."""
    kind = type(x)
    if kind is dict:
        children = x.values()
    elif kind is list or kind is tuple:
        children = x
    else:
        children = tree_util.tree_flatten_data(x)[0]  # (a key array: its data)
    for child in children:
        if isinstance(child, Array):
            if child._ready:  # (0: computed already, as inline calls' results are)
                child.block_until_ready()
        elif kind is dict or kind is list or kind is tuple:
            _block(child)


def _transfer(x: Array, device, committed) -> Array:
    """A copy of `x` on `device` (another, or its own for a new buffer), through host memory."""
    return Array(device.put(x._value), x.aval, device, committed)


def check_not_deleted(arrays):
    """JAX's error for an array whose buffer was donated or deleted."""
    for x in arrays:
        if x._buffer is None:
            raise RuntimeError(f"Array has been deleted with shape={x.aval.str_short()}.")


def place(what: str, arrays, device=None):
    """Where an op (or program) `what` on `arrays` runs, as in JAX: an array
    put on a device on purpose (device_put with a device, jit(device=...), or
    computed from such arrays) is *committed* to it; others (jnp.array(...),
    constants) are not, and follow. An explicit `device` (jit's) wins; else
    the committed arrays' device (two different ones are an error); else the
    default device. Returns (device, `arrays` moved there, whether results
    are committed)."""
    committed = device is not None
    if device is None:
        for x in arrays:  # (a loop, not a comprehension's frame: the usual call has no committed array)
            if x._committed:
                owners = [x for x in arrays if x._committed]
                device, committed = owners[0].device, True
                if any(x.device is not device for x in owners):
                    raise _incompatible(what, arrays)
                break
        else:
            device = get_default_device()
    for x in arrays:
        if x._ready:  # never compute on the results of a failed call
            x.device.check(x._ready)
        if x.device is not device:
            return device, [y if y.device is device else _transfer(y, device, y._committed) for y in arrays], committed
    return device, arrays, committed


def _incompatible(what, arrays) -> ValueError:
    owners = [(k, a) for k, a in enumerate(arrays) if a._committed]
    i, x = owners[0]
    j, y = next((k, a) for k, a in owners if a.device is not x.device)
    return ValueError(
        f"Received incompatible devices for {what}. Got argument {i} of shape {x.aval.str_short()} committed to "
        f"{x.device} and argument {j} of shape {y.aval.str_short()} committed to {y.device}. Move them to one "
        "device first with irax.device_put(x, device).")


# outermost trace -> {(dtype, shape, weak type, digest of the data): its Array}
_lifted_constants = weakref.WeakKeyDictionary()


# Eager operands made from Python numbers (`x * 2`, `x + 1.5`): the same
# number of the same dtype and weak type on the same device is one Array,
# put once (a put costs ~15 us, the eager op it feeds ~12). They are
# operands, not results, but one that reached a user and was deleted
# (donated) is put again. Bounded: when full it starts again.
_scalar_operands: dict = {}
SCALAR_OPERANDS_KEPT = 4096


# Python's and NumPy's numbers: what scalar_operand takes.
NUMBERS = (bool, int, float, complex, np.generic)


def scalar_operand(value, dtype, weak_type):
    """The Python or NumPy scalar `value` as a 0-d array of `dtype`, as
    `constant` makes it; eagerly the kept one (keyed by its bits: -0.0 is
    not 0.0, and a NaN finds itself)."""
    if core.current_trace() is not None or config.irax_eager_constant_folding:
        return constant(value, dtype, weak_type)
    bits = numpy_value(value, dtypes.canonicalize_dtype(dtype))
    key = (bits.dtype, bits.tobytes(), weak_type, get_default_device())
    found = _scalar_operands.get(key)
    if found is None or found.is_deleted():
        if len(_scalar_operands) >= SCALAR_OPERANDS_KEPT:
            _scalar_operands.clear()
        found = _scalar_operands[key] = device_put_numpy(bits, weak_type=weak_type)
    return found


def number_operand(value):
    """A number (of NUMBERS) as the kept array scalar_operand makes of it, in
    its own dtype and weak type (asarray's: a Python number weakly typed)."""
    return scalar_operand(value, *dtypes.dtype_and_weak(value))


def numpy_value(value, dtype):
    """np.asarray(value, dtype), but a Python int out of the dtype's range is
    JAX's OverflowError (its wording, not NumPy's)."""
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError:
        if type(value) is not int:
            raise
        raise OverflowError(f"Python int {value} too large to convert to {np.dtype(dtype)}") from None


def constant(value, dtype=None, weak_type=False):
    """A concrete value as an array of the current mode: a Tracer when tracing,
    else an `irax.Array` on the default device."""
    array = numpy_value(value, dtypes.canonicalize_dtype(dtype if dtype is not None else np.asarray(value).dtype))
    trace = core.current_trace()
    if trace is None or config.irax_eager_constant_folding:  # the latter: irax.ensure_compile_time_eval
        return device_put_numpy(array, weak_type=weak_type)
    if array.size > 1 and not np.all(array == array.flat[0]):
        # Data goes in as an argument, as closed-over arrays do: a dense
        # constant in a Vulkan program (its upload when the program loads)
        # lets IREE 3.13's out-of-order semaphore signal lose lavapipe's
        # device within tens of calls (docs/architecture.md), and programs
        # that differ only in their data share one compile. Equal data is one
        # Array across the whole trace, so a function traced again (a
        # custom rule that calls its own function) lifts the same arguments.
        key = (array.dtype.str, array.shape, weak_type, hashlib.sha256(array.tobytes()).digest())
        known = _lifted_constants.setdefault(core.outermost_trace(), {})
        if key not in known:
            known[key] = device_put_numpy(array, weak_type=weak_type)
        return trace.to_tracer(known[key])
    return trace.constant(array, weak_type)
