"""`irax.sharding`, as `jax.sharding`, for arrays that each lie on one
device: `SingleDeviceSharding` (irax/frontend/sharding.py)."""
from irax.frontend.sharding import Sharding, SingleDeviceSharding

__all__ = ["Sharding", "SingleDeviceSharding"]
