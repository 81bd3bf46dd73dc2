"""A backend: IREE's VMVX target, a portable interpreter for the CPU, on the
synchronous `local-sync` driver. Slow, but it runs anywhere IREE runs, with
no code generation: a good second CPU backend to test plugins with.

    IRAX_PLATFORMS=vmvx python my_script.py      # everything on vmvx
    irax.devices("vmvx")                         # [VmvxDevice(id=0)]
"""
from irax.backends.iree_backend import IreeBackend

# A low priority: installing the plugin must not move anyone's work onto it.
backend = IreeBackend("vmvx", target_backend="vmvx", driver="local-sync", priority=-100)
