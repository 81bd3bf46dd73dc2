"""`irax.experimental`, as `jax.experimental`: `io_callback`, a Python callback
with side effects whose results are values of the computation
(irax/frontend/callbacks.py); `irax.experimental.shard_map`, the older home
of shard_map (irax/experimental/shard_map.py)."""
from irax.frontend.callbacks import io_callback

__all__ = ["io_callback"]
