"""`irax.sharding`, as `jax.sharding` (irax/frontend/sharding.py): meshes of
devices with named axes, PartitionSpecs and NamedShardings as JAX's objects,
for shard_map and for device_put/jit on a mesh of one device; every irax
array lies whole on one device (SingleDeviceSharding)."""
from irax.frontend.sharding import (AxisType, Mesh, NamedSharding, PartitionSpec, Sharding, SingleDeviceSharding,
                                    get_abstract_mesh, get_mesh, reshard, set_mesh)

__all__ = ["AxisType", "Mesh", "NamedSharding", "PartitionSpec", "Sharding", "SingleDeviceSharding",
           "get_abstract_mesh", "get_mesh", "reshard", "set_mesh"]
