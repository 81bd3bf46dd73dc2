"""Vulkan: IREE's vulkan-spirv target on the `vulkan` driver, so any GPU with a
Vulkan driver runs irax, and so does a machine without one through Mesa's
lavapipe (Debian: libvulkan1 mesa-vulkan-drivers), which is how CI runs it.

Its priority is below the CPU's: Vulkan is also present where it is slower
than the host CPU (lavapipe, small integrated GPUs), so it is chosen by name
(`irax.devices("vulkan")`, IRAX_PLATFORMS=vulkan), never by surprise.
"""
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

# IREE reuses recorded command buffers across calls with new buffers bound
# ("memoization"); on lavapipe some came back with the previous call's
# buffers (a stack of two scalars returned the last call's values). Without
# it a small call costs ~0.2 ms more. The flag is process-wide, so these
# compiles run the iree-compile tool (compiler.PROCESS_WIDE).
backend = IreeBackend("vulkan", target_backend="vulkan-spirv", driver="vulkan",
                      compile_flags=[f"--iree-vulkan-target-features={FEATURES}",
                                     "--iree-input-demote-f64-to-f32=false",  # as on the CPU: real f64 in 64-bit mode
                                     "--iree-hal-memoization=false"],
                      priority=-10)
