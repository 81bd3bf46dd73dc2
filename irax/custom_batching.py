"""`irax.custom_batching`, as `jax.custom_batching`: `custom_vmap` (a
function with its own batching rule under `vmap`) and `sequential_vmap`
(one vmap batches by a loop): irax/frontend/custom_batching.py."""
from irax.frontend.custom_batching import custom_vmap, sequential_vmap

__all__ = ["custom_vmap", "sequential_vmap"]
