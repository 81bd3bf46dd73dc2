"""`irax.Array`: an immutable array whose data lives in an IREE device buffer."""
import numpy as np

from irax.frontend import dtypes, printing
from irax.frontend.array_methods import ArrayMethods
from irax.frontend.core import ShapedArray


class Array(ArrayMethods):
    """An n-dimensional array on a device. Immutable: use `x.at[i].set(v)`."""

    __slots__ = ("_buffer", "aval", "device", "_host", "__weakref__")

    def __init__(self, buffer, aval: ShapedArray, device):
        self._buffer = buffer
        self.aval = aval
        self.device = device
        self._host = None

    # --- data on the host -------------------------------------------------
    @property
    def _value(self) -> np.ndarray:
        """A read-only host copy, fetched once."""
        check_not_deleted([self])
        if self._host is None:
            host = self.device.fetch(self._buffer, self.dtype, self.shape)
            host.flags.writeable = False
            self._host = host
        return self._host

    def __array__(self, dtype=None, copy=None):
        value = self._value
        if dtype is not None and np.dtype(dtype) != value.dtype:
            return value.astype(dtype)
        return value.copy() if copy else value

    def delete(self):
        """Free the device buffer; the array can no longer be used (as after donation)."""
        self._buffer = self._host = None

    def is_deleted(self):
        return self._buffer is None

    def block_until_ready(self):
        return self  # invocations are synchronous today: the data is ready on return

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


def device_put_numpy(array: np.ndarray, device=None, weak_type=False) -> Array:
    """Upload a NumPy array (dtype already canonical) to `device`."""
    from irax.plugins.registry import default_device

    device = device or default_device()
    return Array(device.put(array), ShapedArray(array.shape, array.dtype, weak_type), device)


def check_not_deleted(arrays):
    """JAX's error for an array whose buffer was donated or deleted."""
    for x in arrays:
        if x._buffer is None:
            raise RuntimeError(f"Array has been deleted with shape={x.aval.str_short()}.")


def check_same_device(what: str, operands):
    """The one device all operands of an eager op live on."""
    from irax.plugins.registry import default_device

    if not operands:
        return default_device()
    device = operands[0].device
    if any(x.device is not device for x in operands):
        names = ", ".join(sorted({repr(x.device) for x in operands}))
        raise ValueError(
            f"{what}: operands are on different devices ({names}). "
            "Move them to one device first with irax.device_put(x, device)."
        )
    return device
