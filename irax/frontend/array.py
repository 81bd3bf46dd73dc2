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

    def block_until_ready(self):
        return self  # invocations are synchronous today: the data is ready on return

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def _scalar(self, convert, name):
        if self.size != 1:
            raise TypeError(f"only length-1 arrays can be converted to Python scalars (called {name}() on shape {self.shape})")
        return convert(self._value.reshape(()))

    def __bool__(self):
        return self._scalar(bool, "bool")

    def __int__(self):
        return self._scalar(int, "int")

    def __float__(self):
        return self._scalar(float, "float")

    def __complex__(self):
        return self._scalar(complex, "complex")

    def __index__(self):
        if not dtypes.is_int(self.dtype) and not dtypes.is_bool(self.dtype):
            raise TypeError(f"only integer scalar arrays can be converted to a scalar index, got {self.dtype.name}")
        return self._scalar(int, "__index__")

    # --- printing -----------------------------------------------------------
    def __repr__(self):
        return printing.array_repr(self._value, self.weak_type)

    def __str__(self):
        return str(self._value)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self._value.item(), spec)
        return format(self._value, spec)

    def __reduce__(self):  # pickle as the host value, like JAX
        return (np.asarray, (np.array(self._value),))


def device_put_numpy(array: np.ndarray, device=None, weak_type=False) -> Array:
    """Upload a NumPy array (dtype already canonical) to `device`."""
    from irax.plugins.registry import default_device

    device = device or default_device()
    return Array(device.put(array), ShapedArray(array.shape, array.dtype, weak_type), device)


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
