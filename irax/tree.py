"""The ``jax.tree`` namespace: short names for the functions of :mod:`irax.tree_util`.

    >>> irax.tree.map(lambda x: x + 1, {'a': 1, 'b': (2, None)})
    {'a': 2, 'b': (3, None)}
"""
from __future__ import annotations

import dataclasses
from typing import Any

from irax.tree_util import tree_all as all
from irax.tree_util import tree_broadcast as broadcast
from irax.tree_util import tree_flatten as flatten
from irax.tree_util import tree_flatten_with_path as flatten_with_path
from irax.tree_util import tree_leaves as leaves
from irax.tree_util import tree_leaves_with_path as leaves_with_path
from irax.tree_util import tree_map as map
from irax.tree_util import tree_map_with_path as map_with_path
from irax.tree_util import tree_reduce as reduce
from irax.tree_util import tree_reduce_associative as reduce_associative
from irax.tree_util import tree_structure as structure
from irax.tree_util import tree_transpose as transpose
from irax.tree_util import tree_unflatten as unflatten

__all__ = ["all", "broadcast", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map",
           "map_with_path", "reduce", "reduce_associative", "static", "structure", "transpose", "unflatten"]


def static(**kwargs: Any) -> Any:
    """``dataclasses.field(**kwargs)`` marked ``metadata={'static': True}``: a field that
    :func:`irax.tree_util.register_dataclass` makes aux data (static under ``jit``),
    not a child."""
    metadata = {"static": True, **(kwargs.pop("metadata", None) or {})}
    return dataclasses.field(metadata=metadata, **kwargs)
