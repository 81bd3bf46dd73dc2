"""What a plugin must look like: the `Backend` and `Pass` protocols, version 1.

A plugin is an object that a package names in one of two entry-point groups:

    [project.entry-points."irax.backends"]
    mybackend = "irax_mybackend:backend"     # follows Backend
    [project.entry-points."irax.passes"]
    count-ops = "irax_mypass:CountOps"       # follows Pass

irax's own backends and passes are registered the same way, in irax's
pyproject.toml. `registry.py` finds them, checks them against the attribute
lists below and sets `origin` (the entry point's value) on each. The
protocols are structural: no base class to inherit, just these attributes.
See docs/plugins.md for a walk through writing, packaging and testing one.
"""
from typing import Protocol, runtime_checkable

# A plugin states the protocol version it follows (`api_version = 1`); the
# registry refuses other versions with a message rather than failing later.
API_VERSION = 1


@runtime_checkable
class Backend(Protocol):
    """Where programs compile and run: one IREE target plus one runtime driver.

    `irax.backends.iree_backend.IreeBackend` implements all of it; most
    backends are an instance of it with their own settings.
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
        """This backend's devices (irax.backends.runtime.Device, or objects with
        its `platform`, `id`, `backend`, `put`, `fetch` and `load`)."""

    def compile(self, mlir_text: str) -> bytes:
        """A program for this backend's devices (through irax.backends.cache)."""


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


__all__ = ["API_VERSION", "Backend", "Pass"]
