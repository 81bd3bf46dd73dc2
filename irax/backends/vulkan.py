"""Vulkan: IREE's vulkan-spirv target on the `vulkan` driver, so any GPU with a
Vulkan driver runs irax, and so does a machine without one through Mesa's
lavapipe (Debian: libvulkan1 mesa-vulkan-drivers), which is how CI runs it.

Its priority is below the CPU's: Vulkan is also present where it is slower
than the host CPU (lavapipe, small integrated GPUs), so it is chosen by name
(`irax.devices("vulkan")`, IRAX_PLATFORMS=vulkan), never by surprise.
"""
import os
import threading

from irax.backends import vulkan_prepare
from irax.backends.iree_backend import IreeBackend

# IREE's default Vulkan target is a mobile baseline without 8- and 16-bit
# storage; it emulates them with 32-bit words and gets arrays whose byte size
# is not a multiple of 4 wrong (int8, bool, float16; seen on lavapipe). Every
# desktop Vulkan driver has these capabilities, so we claim them. We keep the
# baseline's other limits: a named desktop target (rdna3, ampere) assumes its
# GPU's subgroup size, and its reductions are wrong on lavapipe.
FEATURES = ",".join([
    "spirv:v1.3", "cap:Shader", "cap:Int8", "cap:Int16", "cap:Int64", "cap:Float16", "cap:Float64",
    "cap:StorageBuffer8BitAccess", "cap:StorageBuffer16BitAccess",
    "ext:SPV_KHR_8bit_storage", "ext:SPV_KHR_16bit_storage",
])


def _threads() -> set:
    """The ids of this process's threads (Linux; elsewhere none)."""
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        return set()


# The niceness of the polling threads while nothing waits for the device:
# the lowest, so that they poll on cores little else wants.
POLLING_NICE = 19
# Their niceness while a thread of this process waits for the device's work
# (a read, a full queue, a program whose loops wait inside IREE): they also
# move the device's queue on, and a busy machine starves them at 19. With
# two other processes busy on the two cores, an eager op and its read on
# lavapipe took 520-740 ms at 19 throughout and 13-135 ms at 0 while
# waiting; the vulkan copies of test_sorting, test_qr, test_shape and
# test_elementwise on `-n 2` (load 5-6) 32-37 s and 25-28 s. (At a fixed 10
# the polling taxes every process's CPU work, and a first CI run so lost
# lavapipe's device twice in one test: docs/architecture.md.)
WAITING_NICE = 0


def _set_nice(threads, nice: int) -> bool:
    """Give `threads` (ids) `nice`; False where this process may not (raising
    a thread's priority again needs privileges, or RLIMIT_NICE)."""
    for thread in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, int(thread), nice)
        except PermissionError:
            return False
        except ProcessLookupError:
            pass  # gone already
    return True


class PollingThreads:
    """The threads a lavapipe device starts, but its `llvmpipe-N` ones. Two
    of them poll (IREE's, waiting for any of several semaphores, which Mesa
    does in a loop of clock_gettime and a mutex), two cores busy for as long
    as the device lives, which halved the speed of CPU work in the same
    process; two run the shaders. They run at POLLING_NICE, and at
    WAITING_NICE while this process waits for the device (the Device's
    `while_waiting`, this object: a context manager) where the process may
    raise their priority again; elsewhere they stay at POLLING_NICE."""

    def __init__(self, threads):
        self.threads = threads
        self._waiting = 0  # the threads of this process waiting now
        self._lock = threading.Lock()
        self._may_raise = True
        _set_nice(threads, POLLING_NICE)

    def __enter__(self):
        with self._lock:
            self._waiting += 1
            if self._waiting == 1 and self._may_raise:
                self._may_raise = _set_nice(self.threads, WAITING_NICE)

    def __exit__(self, *failure):
        with self._lock:
            self._waiting -= 1
            if self._waiting == 0 and self._may_raise:
                _set_nice(self.threads, POLLING_NICE)


class VulkanBackend(IreeBackend):
    def _make_device(self, driver, i, info):
        before = _threads()
        device = super()._make_device(driver, i, info)
        if info["name"].startswith("llvmpipe"):
            polling = []
            for thread in _threads() - before:
                try:
                    with open(f"/proc/self/task/{thread}/comm") as comm:
                        if not comm.read().startswith("llvmpipe"):
                            polling.append(thread)
                except OSError:
                    pass  # gone already
            device.while_waiting = PollingThreads(polling)
        return device


# IREE reuses recorded command buffers across calls with new buffers bound
# ("memoization"); on lavapipe some came back with the previous call's
# buffers (a stack of two scalars returned the last call's values). The flag
# is process-wide, so these compiles run the iree-compile tool
# (compiler.PROCESS_WIDE).
# IREE's transpose propagation moves a transpose into the dispatch of a
# reduction broadcast back over its input, and IREE's SPIR-V code for that
# dispatch is wrong: the gradient of softmax(c * einsum(q, k)) in grouped-
# query attention came back with errors up to 6 (the transpose of the
# softmax backward, alone, up to 32); without the propagation it is right.
# Vulkan leaves it to the driver whether a fused multiply-add is fused
# (lavapipe's is a multiply and an add, each rounded), so the module's fused
# ones are computed in float64 before IREE sees it (vulkan_prepare.py).
backend = VulkanBackend("vulkan", target_backend="vulkan-spirv", driver="vulkan",
                        compile_flags=[f"--iree-vulkan-target-features={FEATURES}",
                                       "--iree-input-demote-f64-to-f32=false",  # as on the CPU: real f64 in 64-bit mode
                                       "--iree-hal-memoization=false",
                                       "--iree-global-opt-propagate-transposes=false"],
                        prepare=vulkan_prepare.prepare, priority=-10)
