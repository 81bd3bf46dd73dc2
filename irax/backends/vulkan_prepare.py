"""The Vulkan backend's prepare step: the choices the vulkan-spirv target
makes on irax's module before IREE compiles it, in this order:

  XLA's float32 log1p            spirv_log1p.py (IREE's SPIR-V log1p is log(1 + x))
  widen fused multiply-adds      fma.py (lavapipe does not fuse them)
  separate broadcast reductions  spirv_reductions.py (IREE's SPIR-V races)

Apart from the backend (vulkan.py, which imports the runtime) because the
compile cache's key names this step by a hash of its module's sources and
those it imports (prepare_steps.version): an edit to the runtime need not
compile Vulkan's programs again.
"""
from irax.backends.fma import widen_fmas
from irax.backends.spirv_log1p import exact_log1p
from irax.backends.spirv_reductions import separate_broadcast_reductions


def prepare(mlir_text: str) -> str:
    """The module as Vulkan's IREE compile gets it."""
    return separate_broadcast_reductions(widen_fmas(exact_log1p(mlir_text)))
