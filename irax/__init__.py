"""irax: accelerated, differentiable NumPy on MLIR and IREE, in the style of JAX.

    import irax
    import irax.numpy as jnp
"""
from irax.config import Override, checking_leaks, config, ensure_compile_time_eval, transfer_guard
from irax import debug, dtypes, errors, image, lax, nn, ops, random, scipy, sharding, tree, tree_util
from irax.backends.cache import clear_memory_caches as clear_caches
from irax.dtypes import float0
from irax.frontend.array import Array, block_until_ready, device_get, device_put
from irax.frontend.array import (make_array_from_callback, make_array_from_process_local_data,
                               make_array_from_single_device_arrays)
from irax.frontend.array import copy_to_host_async, live_arrays
from irax.frontend.environment import print_environment_info
from irax.plugins import Device
from irax.frontend.custom_derivatives import custom_jvp, custom_vjp
from irax import custom_batching
from irax.frontend.callbacks import effects_barrier, pure_callback
from irax.frontend.jit import disable_jit, jit
from irax.frontend.name_stack import named_call, named_scope
from irax.frontend.closure import closure_convert, custom_gradient
from irax.frontend.shapes import ShapeDtypeStruct, eval_shape, make_jaxpr, typeof
from irax.frontend.autodiff import (fwd_and_bwd, grad, hessian, jacfwd, jacobian, jacrev, jvp, linear_transpose,
                                     linearize, value_and_grad)
from irax.frontend.checkpoint import checkpoint, checkpoint_policies, remat
from irax.frontend.vmap import vmap
from irax.frontend.refs import Ref, freeze, new_ref
from irax.frontend.ref_autodiff import vjp  # autodiff's, Ref arguments and with_refs added
from irax import ad
from irax.frontend.pmap import pmap
from irax.frontend.sharding import NamedSharding, P, Shard, make_mesh, reshard, set_mesh
from irax.frontend.shard_map import shard_map
from irax.frontend.processes import device_count, devices, local_devices, process_count, process_index
from irax.frontend.processes import host_count, host_id, host_ids, process_indices
from irax.plugins.registry import default_backend, default_device, local_device_count

# JAX's top-level context managers of settings: `with irax.enable_x64(True):`
enable_x64 = Override("irax_enable_x64")
debug_nans = Override("irax_debug_nans")
debug_infs = Override("irax_debug_infs")
log_compiles = Override("irax_log_compiles")
numpy_dtype_promotion = Override("irax_numpy_dtype_promotion")
numpy_rank_promotion = Override("irax_numpy_rank_promotion")
default_matmul_precision = Override("irax_default_matmul_precision")
transfer_guard_host_to_device = Override("irax_transfer_guard_host_to_device")
transfer_guard_device_to_device = Override("irax_transfer_guard_device_to_device")
transfer_guard_device_to_host = Override("irax_transfer_guard_device_to_host")
check_tracer_leaks = Override("irax_check_tracer_leaks")
debug_key_reuse = Override("irax_debug_key_reuse")
enable_checks = Override("irax_enable_checks")
explain_cache_misses = Override("irax_explain_cache_misses")
no_tracing = Override("irax_no_tracing")
no_execution = Override("irax_no_execution")
threefry_partitionable = Override("irax_threefry_partitionable")
default_prng_impl = Override("irax_default_prng_impl")
legacy_prng_key = Override("irax_legacy_prng_key")

__version__ = "0.1.0"

__all__ = ["Array", "ShapeDtypeStruct", "block_until_ready", "checkpoint", "checkpoint_policies", "clear_caches",
           "ad", "config", "custom_batching", "custom_jvp", "custom_vjp", "debug", "debug_infs", "debug_nans",
           "default_backend", "default_device", "device_count", "device_get", "device_put", "devices", "disable_jit",
           "dtypes", "effects_barrier", "enable_x64", "errors", "eval_shape", "float0", "fwd_and_bwd", "grad", "hessian",
           "image", "jacfwd", "jacobian", "jacrev", "jit",
           "jvp", "lax", "linear_transpose", "linearize", "local_device_count", "local_devices", "log_compiles",
           "make_jaxpr", "nn", "ops", "pmap", "process_count", "process_index", "pure_callback", "random", "remat",
           "scipy", "tree", "tree_util", "typeof", "value_and_grad", "vjp", "vmap", "Ref", "freeze", "new_ref"]
__all__ += ["check_tracer_leaks", "checking_leaks", "debug_key_reuse", "default_matmul_precision", "enable_checks",
            "ensure_compile_time_eval", "explain_cache_misses", "numpy_dtype_promotion", "numpy_rank_promotion",
            "transfer_guard", "transfer_guard_device_to_device", "transfer_guard_device_to_host",
            "transfer_guard_host_to_device", "named_call", "named_scope",
            "closure_convert", "custom_gradient", "Device", "copy_to_host_async", "host_count", "host_id",
            "host_ids", "live_arrays", "print_environment_info", "process_indices", "no_execution", "no_tracing",
            "threefry_partitionable", "default_prng_impl", "legacy_prng_key"]
__all__ += ["NamedSharding", "P", "make_mesh", "reshard", "set_mesh", "shard_map"]
__all__ += ["Shard", "make_array_from_callback", "make_array_from_process_local_data",
            "make_array_from_single_device_arrays"]
