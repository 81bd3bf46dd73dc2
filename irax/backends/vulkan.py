"""Vulkan: IREE's vulkan-spirv target on the `vulkan` driver, so any GPU with a
Vulkan driver runs irax, and so does a machine without one through Mesa's
lavapipe (Debian: libvulkan1 mesa-vulkan-drivers), which is how CI runs it.

Its priority is below the CPU's: Vulkan is also present where it is slower
than the host CPU (lavapipe, small integrated GPUs), so it is chosen by name
(`irax.devices("vulkan")`, IRAX_PLATFORMS=vulkan), never by surprise.
"""
import os

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


# The niceness of the polling threads: the lowest. They also move the
# device's queue on, and a busy machine starves them at 19 (an eager op on
# lavapipe then waits 20-400 ms): the cpu and vulkan copies of test_sorting
# and test_qr on `-n 2`, load ~12, took 94-96 s at 19, 44 at 10, 34-46 at 5,
# 67 at 0. Left at 19: the first CI run at 10 lost lavapipe's device twice
# in one test (IREE 3.13's out-of-order semaphore signal, a race between
# these threads that more CPU time for them may make likelier).
POLLING_NICE = 19


class VulkanBackend(IreeBackend):
    def create_hal_device(self, driver, info):
        """On lavapipe, two of IREE's threads that wait for the device's work
        poll (Mesa has no native wait for any of several semaphores there:
        perf shows clock_gettime and a mutex in a loop), two cores busy for as
        long as the device lives, which halved the speed of CPU work in the
        same process. The threads the device starts get a low priority
        (POLLING_NICE), so that they poll on cores little else wants;
        lavapipe's own `llvmpipe-N` threads, which run the shaders, keep
        theirs."""
        before = _threads()
        device = super().create_hal_device(driver, info)
        if info["name"].startswith("llvmpipe"):
            for thread in _threads() - before:
                try:
                    with open(f"/proc/self/task/{thread}/comm") as comm:
                        if not comm.read().startswith("llvmpipe"):
                            os.setpriority(os.PRIO_PROCESS, int(thread), POLLING_NICE)
                except OSError:
                    pass  # gone already
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
