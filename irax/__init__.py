"""irax: accelerated, differentiable NumPy on MLIR and IREE, in the style of JAX.

    import irax
    import irax.numpy as jnp
"""
from irax.config import config
from irax import debug, dtypes, errors, lax, tree, tree_util
from irax.frontend.array import Array, block_until_ready, device_put
from irax.frontend.custom_derivatives import custom_jvp, custom_vjp
from irax.frontend.callbacks import pure_callback
from irax.frontend.jit import disable_jit, jit
from irax.frontend.shapes import ShapeDtypeStruct, eval_shape, make_jaxpr, typeof
from irax.frontend.autodiff import (grad, hessian, jacfwd, jacobian, jacrev, jvp, linear_transpose, linearize,
                                     value_and_grad, vjp)
from irax.frontend.checkpoint import checkpoint, checkpoint_policies, remat
from irax.frontend.vmap import vmap
from irax.plugins.registry import default_backend, default_device, devices

__version__ = "0.1.0"

__all__ = ["Array", "block_until_ready", "config", "custom_jvp", "custom_vjp", "debug", "dtypes", "errors", "lax", "default_backend", "default_device",
           "device_put", "devices", "disable_jit", "grad", "hessian", "jacfwd", "jacobian", "jacrev", "jit", "jvp", "make_jaxpr", "pure_callback",
           "eval_shape", "ShapeDtypeStruct", "tree", "tree_util", "typeof", "value_and_grad", "vjp", "vmap",
           "checkpoint", "checkpoint_policies", "linear_transpose", "linearize", "remat"]
