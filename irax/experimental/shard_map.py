"""`irax.experimental.shard_map.shard_map`, as jax.experimental.shard_map's:
the older signature (mesh and specs positional, `check_rep`) of irax.shard_map
(irax/frontend/shard_map.py), deprecated as in JAX 0.10."""
import warnings
from collections.abc import Callable
from typing import Any

from irax.frontend import shard_map as _shard_map
from irax.frontend.sharding import Mesh


def shard_map(f: Callable, mesh: Mesh, in_specs: Any, out_specs: Any, check_rep: bool = True) -> Callable:
    """irax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=check_rep)."""
    warnings.warn("jax.experimental.shard_map is deprecated in v0.8.0. Used jax.shard_map instead.",
                  DeprecationWarning, stacklevel=2)
    return _shard_map.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=check_rep)


__all__ = ["shard_map"]
