"""A backend with devices of its own: the platform `sync-cpu`, IREE's llvm-cpu
programs run on the synchronous `local-sync` driver (every call on the
calling thread, done when it returns).

A backend that is one IREE target plus one driver is normally one
`IreeBackend` statement (vmvx.py). This one implements the protocols of
`irax.plugins` itself, as a backend with its own runtime must (a remote
machine, a simulator, a driver IREE's Python API does not have), and uses
nothing else of irax's runtime but two helpers that any device may use for
programs with Python callbacks (`irax.pure_callback`, `irax.debug.print`):
`runtime.host_module`, the VM module those programs import the callbacks
from, and `runtime.raise_call_error`, the error of a call whose callback
raised. It is the proof that those protocols are all irax asks of a backend,
a device and a program. irax's tests run their core numerical modules on
it, beside cpu and vulkan.

    irax.devices("sync-cpu")                     # [SyncCpuDevice(id=0)]
    IRAX_PLATFORMS=sync-cpu python my_script.py  # everything on it
"""
import functools

import numpy as np
import iree.runtime as rt

from irax.backends.cpu import backend as cpu
from irax.backends import runtime
from irax.backends.runtime import ELEMENT_TYPES

# Memory the host can map, so that `fetch` reads it without a copy.
USAGE = rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING


class SyncCpuBackend:
    """irax.plugins.Backend."""

    api_version = 1  # the protocol version it was written for (not irax's API_VERSION: that would claim any)
    name = "sync-cpu"
    priority = -100  # never the default unless asked for: installing the plugin moves nobody's work
    target_backend = "llvm-cpu"
    driver = "local-sync"

    @property
    def compile_flags(self) -> tuple:
        return cpu.compile_flags

    def __repr__(self):
        return f"SyncCpuBackend({self.name!r})"

    @functools.cached_property
    def _devices(self):
        driver = rt.get_driver(self.driver)
        return [SyncCpuDevice(self, i, driver.create_device(info))
                for i, info in enumerate(driver.query_available_devices())]

    def available(self) -> bool:
        try:
            return bool(self._devices)
        except (RuntimeError, ValueError):  # IREE's, when the driver cannot open a device
            return False

    def devices(self) -> list:
        return list(self._devices)

    # The CPU backend's programs, its own choices of code included (its
    # `prepare`): the two platforms share their compile-cache entries, and
    # this one compiles nothing of its own.
    def prepare(self, mlir_text: str) -> str:
        return cpu.prepare(mlir_text)

    def compile(self, mlir_text: str) -> bytes:
        return cpu.compile(mlir_text)


class SyncCpuDevice:
    """irax.plugins.Device. Its calls are done when they return (`ready` is
    always 0), so irax never needs `wait` or `check`; they answer for a
    device on which nothing is ever pending."""

    def __init__(self, backend, id, hal_device):
        self.backend, self.platform, self.id = backend, backend.name, id
        self._hal_device = hal_device
        self._instance = rt.VmInstance()  # the VM that this device's programs are loaded into
        self._hal_module = rt.create_hal_module(self._instance, hal_device)

    def __repr__(self):
        return f"SyncCpuDevice(id={self.id})"

    def put(self, array: np.ndarray) -> rt.HalBufferView:
        return self._hal_device.allocator.allocate_buffer_copy(
            memory_type=rt.MemoryType.DEVICE_LOCAL, allowed_usage=USAGE, device=self._hal_device,
            buffer=np.array(array, order="C", copy=not array.flags.c_contiguous),
            element_type=ELEMENT_TYPES[array.dtype.name])

    def fetch(self, buffer: rt.HalBufferView, dtype, shape) -> np.ndarray:
        if 0 in shape:  # an empty buffer has no memory to map
            return np.zeros(shape, dtype)
        return np.array(buffer.map().asarray(tuple(shape), np.dtype(dtype)))

    def load(self, vmfb: bytes, host_functions=None) -> "SyncCpuProgram":
        return SyncCpuProgram(self, vmfb, host_functions)

    def wait(self, ready: int, block: bool = True) -> bool:
        return True

    def check(self, ready: int) -> None:
        pass


class SyncCpuProgram:
    """irax.plugins.Program: calls `@main(inputs..., wait fence, signal fence)`
    (IREE's async-external calling convention, which every irax program has)
    and returns once the signal fence is reached. A program with Python
    callbacks imports them from the module `runtime.host_module` makes."""

    def __init__(self, device: SyncCpuDevice, vmfb: bytes, host_functions=None):
        self._device = device
        module = rt.VmModule.copy_buffer(device._instance, vmfb)
        imported = [runtime.host_module(device, host_functions)] if host_functions else []
        self._context = rt.VmContext(device._instance, [device._hal_module, *imported, module])
        self._main = module.lookup_function("main")

    def __call__(self, buffers: list, n_results: int) -> tuple:
        fence = self._device._hal_device.create_semaphore(0)
        args = rt.VmVariantList(len(buffers) + 2)
        for buffer in buffers:
            args.push_ref(buffer)
        done = rt.HalFence.create_at(fence, 1)
        args.push_ref(rt.HalFence.create_at(fence, 0))  # nothing to wait for: reached already
        args.push_ref(done)
        results = rt.VmVariantList(n_results)
        try:
            self._context.invoke(self._main, args, results)
            done.wait()  # local-sync has signaled it before invoke returns; any other driver, now
        except (RuntimeError, ValueError) as error:  # IREE's, typed by its status code
            runtime.raise_call_error(self._device, error)  # (a DeviceError, from a failed callback's exception)
        return [results.get_as_object(i, rt.HalBufferView) for i in range(n_results)], 0


backend = SyncCpuBackend()
