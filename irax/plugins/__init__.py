"""What a plugin must look like: the `Backend` (with its `Device` and
`Program`) and `Pass` protocols, version 1.

A plugin is an object that a package names in one of two entry-point groups:

    [project.entry-points."irax.backends"]
    mybackend = "irax_mybackend:backend"     # follows Backend
    [project.entry-points."irax.passes"]
    count-ops = "irax_mypass:CountOps"       # follows Pass

irax's own backends and passes are registered the same way, in irax's
pyproject.toml. `registry.py` finds them, checks them against the attribute
lists below and sets `origin` (the entry point's value) on each. The
protocols are structural: no base class to inherit, just these attributes,
and they are all that irax uses of a plugin.
See docs/plugins.md for a walk through writing, packaging and testing one.
"""
from typing import Protocol, runtime_checkable

# A plugin states the protocol version it follows (`api_version = 1`); the
# registry refuses other versions with a message rather than failing later.
API_VERSION = 1


@runtime_checkable
class Backend(Protocol):
    """Where programs compile and run: one IREE target plus one runtime driver.

    `irax.backends.iree_backend.IreeBackend` implements all of it, devices
    included; most backends are an instance of it with their own settings.
    """

    api_version: int        # API_VERSION
    name: str               # the entry point's name: what irax.devices(name) and IRAX_PLATFORMS use
    priority: int           # the available backend with the highest priority is the default
    target_backend: str     # IREE's --iree-hal-target-backends value ("llvm-cpu", "vulkan-spirv", ...)
    compile_flags: tuple    # extra iree-compile flags ("--iree-cuda-target=sm_80", ...)
    driver: str             # IREE runtime driver ("local-task", "vulkan", "cuda", "hip", ...)

    def available(self) -> bool:
        """Whether a device can be opened here; must not raise."""

    def devices(self) -> list:
        """This backend's devices, each following `Device`; the same objects every call."""

    def compile(self, mlir_text: str) -> bytes:
        """The IREE program (.vmfb) for this backend's devices: what
        `irax.backends.cache.cached_compile(mlir_text, target_backend,
        compile_flags)` returns, which is how to make it (cached).
        A backend that rewrites the module first has `prepare(mlir_text) ->
        str` too (optional): `compile` compiles what it returns, and irax's
        stage dumps show it (docs/plugins.md)."""


@runtime_checkable
class Device(Protocol):
    """One device of a backend: what irax asks of it, and nothing more.

    `irax.backends.runtime.Device` (asynchronous, one in-order queue) is
    irax's own; examples/plugins/irax_example/irax_example/sync_cpu.py is a
    synchronous one written from this protocol. Buffers are IREE buffer
    views (`iree.runtime.HalBufferView`): irax compares their `get_buffer()`
    to refuse a call that donates an array it also reads.
    """

    platform: str           # its backend's name
    id: int                 # counts the backend's devices from 0; the repr is `SyncCpuDevice(id=0)`
    backend: Backend        # the backend whose devices() lists it

    def put(self, array) -> object:
        """A new buffer on the device holding a copy of the NumPy `array`
        (any memory layout; dtype one of irax.backends.runtime.ELEMENT_TYPES)."""

    def fetch(self, buffer, dtype, shape):
        """A NumPy copy of `buffer`'s contents as `dtype[shape]` (`shape`
        may hold 0). irax first waits for the call that wrote it."""

    def load(self, vmfb: bytes, host_functions=None) -> "Program":
        """The program `vmfb` (from `backend.compile`) ready to run here.
        `host_functions` is passed only for a program with Python callbacks
        ({name: irax.backends.runtime.HostFunction}: what it imports from
        the VM module "irax_host"); a device that takes none runs the others."""

    def wait(self, ready, block: bool = True) -> bool:
        """Whether the call that returned `ready` (never 0) is done, blocking
        until it is if `block`; raises its error (irax.errors.DeviceError)
        if it failed."""

    def check(self, ready) -> None:
        """Raise the error of the call that returned `ready` (never 0) if it
        is known to have failed, without waiting. Called for each pending
        operand of every op, so it must be cheap."""


@runtime_checkable
class Program(Protocol):
    """A program loaded on a device (`device.load(vmfb)`)."""

    def __call__(self, buffers: list, n_results: int) -> tuple:
        """Run `@main` on `buffers` (this device's, in argument order; it
        also takes a wait fence and a signal fence after them, IREE's
        async-external convention): `(n_results result buffers, ready)`.
        `ready` is 0 if the results are computed when it returns, else what
        `device.wait` and `device.check` take; calls on a device must run in
        the order they were made, each seeing the results of those before,
        and a pending call must keep its `buffers` alive (irax may drop
        them as soon as it returns). A failure raises irax.errors.DeviceError."""


@runtime_checkable
class Pass(Protocol):
    """A step of the pass pipeline every program goes through before IREE.

    A pass has one of two bodies:
      run(module_op)  Python, changing the `builtin.module` operation in place;
      pipeline        a textual upstream MLIR pipeline ("canonicalize,cse"),
                      run by MLIR's own pass manager.
    Optional `after`: the name of a pass this one follows in the default
    pipeline. Without it, the pass runs only where a user names it
    (IRAX_PASSES, irax.config.update("irax_passes", ...), jit(passes=...)).
    """

    api_version: int        # API_VERSION
    name: str               # the entry point's name


__all__ = ["API_VERSION", "Backend", "Device", "Pass", "Program"]
