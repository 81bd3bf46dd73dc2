"""``jax.flatten_util``: a pytree of arrays as one flat vector and back.

    >>> flat, unravel = ravel_pytree({'w': jnp.ones((2, 2)), 'b': jnp.zeros(2)})
    >>> flat.shape, unravel(flat)['w'].shape
    ((6,), (2, 2))

The vector has the leaves' common dtype (JAX's promotion of their dtypes);
`unravel` casts each part back to its leaf's dtype and shape. Where all
leaves share one dtype, `unravel` takes a vector of any dtype, as in JAX.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

import irax.numpy as jnp
from irax import tree_util

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """(the leaves of `pytree` raveled and concatenated, the function that
    rebuilds a pytree like it from such a vector)."""
    leaves, treedef = tree_util.tree_flatten(pytree)
    flat, unravel_list = _ravel_list(leaves)
    return flat, functools.partial(_unravel_pytree, treedef, unravel_list)


def _unravel_pytree(treedef, unravel_list, flat):
    return tree_util.tree_unflatten(treedef, unravel_list(flat))


def _ravel_list(leaves):
    if not leaves:
        return jnp.array([], jnp.float32), lambda _: []
    from_dtypes = tuple(jnp.result_type(x) for x in leaves)
    to_dtype = jnp.result_type(*from_dtypes)  # of the dtypes: weak types play no part, as in JAX
    shapes = tuple(np.shape(x) for x in leaves)
    ends = tuple(int(e) for e in np.cumsum([int(np.prod(s)) for s in shapes]))
    raveled = jnp.concatenate([jnp.ravel(jnp.asarray(x, to_dtype)) for x in leaves])
    if all(d == to_dtype for d in from_dtypes):
        return raveled, functools.partial(_unravel_list, ends, shapes, None, None)
    return raveled, functools.partial(_unravel_list, ends, shapes, from_dtypes, to_dtype)


def _unravel_list(ends, shapes, from_dtypes, to_dtype, flat):
    """The parts of `flat` as leaves; cast back to `from_dtypes` unless None
    (one dtype: the parts keep `flat`'s)."""
    flat_dtype = jnp.result_type(flat)
    if to_dtype is not None and flat_dtype != to_dtype:
        raise TypeError(f"unravel function given array of dtype {flat_dtype}, but expected dtype {to_dtype}")
    if np.shape(flat)[:1] != (ends[-1],) or np.ndim(flat) != 1:
        raise ValueError(f"Sum of sizes {ends[-1]} must be equal to dimension 0 of the operand shape "
                         f"{list(np.shape(flat))}")
    parts = [jnp.reshape(p, s) for p, s in zip(jnp.split(flat, ends[:-1]), shapes)]
    if from_dtypes is None:
        return parts
    return [p.astype(d) for p, d in zip(parts, from_dtypes)]
