"""IREE runtime glue: devices, buffers, loaded programs, invocation.

This is the hot path of eager mode, so it uses IREE's lowest-level Python
entry point: `VmContext.invoke(function, args, results)` with plain
`VmVariantList`s. (The friendlier `FunctionInvoker` reflects over the
function's ABI on every call and costs several times more.)

A device may have an *inline* twin: a synchronous driver over the same
memory (`local-sync` for the CPU's `local-task`). Waking a thread pool costs
tens of microseconds, more than a small op takes on the calling thread, so
calls whose inputs total at most IRAX_INLINE_BYTES (default 256 KiB) run
inline, as XLA's CPU runtime does with small ops.
"""
import numpy as np
import iree.runtime as rt

from irax.config import config

# MLIR integers are signless, and IREE's ABI checks buffer element types
# against the signless spelling, so signed and unsigned share one kind.
_ELEMENT_TYPES = {
    "bool": rt.HalElementType.BOOL_8,
    "int8": rt.HalElementType.INT_8,
    "int16": rt.HalElementType.INT_16,
    "int32": rt.HalElementType.INT_32,
    "int64": rt.HalElementType.INT_64,
    "uint8": rt.HalElementType.INT_8,
    "uint16": rt.HalElementType.INT_16,
    "uint32": rt.HalElementType.INT_32,
    "uint64": rt.HalElementType.INT_64,
    "float16": rt.HalElementType.FLOAT_16,
    "bfloat16": rt.HalElementType.BFLOAT_16,
    "float32": rt.HalElementType.FLOAT_32,
    "float64": rt.HalElementType.FLOAT_64,
}

# Where device memory is host memory (IREE's CPU drivers), buffers are mapped
# to read them: no copy. GPU memory is left unmappable (asking for mapping
# could force slower host-visible memory) and is read through a staging copy.
_USAGE = {"local-task": rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING,
          "local-sync": rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING}
_MAPPABLE = int(rt.BufferUsage.MAPPING_SCOPED)


class Device:
    """One IREE HAL device plus the VM instance programs for it are loaded into.

    `platform` is the irax backend name ("cpu", "vulkan", ...); `id` counts
    devices of that platform from 0.
    """

    def __init__(self, platform: str, id: int, driver: str, hal_device, backend, inline_hal_device=None):
        self.platform = platform
        self.id = id
        self.driver = driver
        self.hal_device = hal_device
        self.backend = backend
        self._usage = _USAGE.get(driver, rt.BufferUsage.DEFAULT)
        self.instance = rt.VmInstance()
        self._hal_module = rt.create_hal_module(self.instance, hal_device)
        self._inline_hal_module = inline_hal_device and rt.create_hal_module(self.instance, inline_hal_device)

    def __repr__(self):
        return f"{self.platform.capitalize()}Device(id={self.id})"

    def put(self, array: np.ndarray) -> rt.HalBufferView:
        """Copy a host array into a new device buffer."""
        return self.hal_device.allocator.allocate_buffer_copy(
            memory_type=rt.MemoryType.DEVICE_LOCAL,
            allowed_usage=self._usage,
            device=self.hal_device,
            buffer=np.array(array, order="C", copy=not array.flags.c_contiguous),
            element_type=_ELEMENT_TYPES[array.dtype.name],
        )

    def fetch(self, buffer: rt.HalBufferView, dtype: np.dtype, shape) -> np.ndarray:
        """A host copy of a device buffer's contents."""
        if 0 in shape:
            return np.zeros(shape, dtype)
        if (buffer.get_buffer().allowed_usage() & _MAPPABLE) != _MAPPABLE:
            buffer = self._host_copy(buffer.get_buffer())
        mapped = buffer.map().asarray(tuple(shape), np.dtype(dtype))
        return np.array(mapped, copy=True)

    def _host_copy(self, source: rt.HalBuffer) -> rt.HalBuffer:
        """A mappable host-memory copy of a device-only buffer. (IREE's own
        DeviceArray.to_host imports a NumPy array instead, which Vulkan refuses
        unless it is 4096-byte aligned.)"""
        staging = self.hal_device.allocator.allocate_buffer(
            memory_type=int(rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE),
            allowed_usage=int(rt.BufferUsage.TRANSFER_TARGET | rt.BufferUsage.MAPPING_SCOPED),
            allocation_size=source.byte_length())
        done = self.hal_device.create_semaphore(0)
        self.hal_device.queue_copy(source, staging, rt.HalFence.create_at(done, 0), rt.HalFence.create_at(done, 1))
        rt.HalFence.create_at(done, 1).wait()
        return staging

    def load(self, vmfb: bytes) -> "Program":
        return Program(self, vmfb)


class Program:
    """A compiled module loaded on a device; calling it runs `@main`."""

    def __init__(self, device: Device, vmfb: bytes):
        self.device = device
        self._module = rt.VmModule.copy_buffer(device.instance, vmfb)
        self._context = rt.VmContext(device.instance, [device._hal_module, self._module])
        inline = device._inline_hal_module
        self._inline_context = inline and rt.VmContext(device.instance, [inline, self._module])
        self._main = self._module.lookup_function("main")

    def __call__(self, buffers, n_results: int) -> list:
        args = rt.VmVariantList(len(buffers))
        size = 0
        for b in buffers:
            args.push_ref(b)
            size += b.byte_length
        results = rt.VmVariantList(n_results)
        context = self._inline_context if self._inline_context and size <= config.irax_inline_bytes else self._context
        context.invoke(self._main, args, results)
        return [results.get_as_object(i, rt.HalBufferView) for i in range(n_results)]

