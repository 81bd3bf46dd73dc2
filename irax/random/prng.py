"""PRNG implementations, as JAX's `PRNGImpl`s, by name.

An implementation says what a key is (`key_shape`: its uint32 words) and
four functions on one key's raw data (a uint32 array of that shape; a
batch of keys is vmapped over them by the caller):

    seed(seed)                     an integer scalar array -> a key
    split(key, shape)              -> keys, uint32[*shape, *key_shape]
    fold_in(key, data)             a uint32 scalar -> a key
    random_bits(key, width, shape) -> uint{width}[shape], width 8, 16, 32 or 64

each traceable (keys.py calls them in jitted functions, with `shape` and
`width` static). Typed keys print their implementation's `tag`
(`key<fry>`); raw keys (uint32 arrays) are of the default implementation,
the setting jax_default_prng_impl (`irax.config.irax_default_prng_impl`).
JAX's: threefry2x32 (keys.py, the default), rbg and unsafe_rbg (rbg.py),
philox4x32, philox2x32 (philox.py) and threefry4x32 (threefry4x32.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class PRNGImpl(NamedTuple):
    """A PRNG implementation (module docstring), as jax.extend.random.PRNGImpl."""
    key_shape: tuple
    seed: Callable
    split: Callable
    random_bits: Callable
    fold_in: Callable
    name: str
    tag: str

    def __repr__(self):  # (JAX's error messages name an implementation by the tuple's repr; its functions' addresses vary)
        return f"PRNGImpl(name={self.name!r}, key_shape={self.key_shape}, tag={self.tag!r})"


IMPLS: dict[str, PRNGImpl] = {}  # name -> implementation, in the order registered


def register_prng(impl: PRNGImpl) -> None:
    """Make `impl` known by its name (jax.random.key(0, impl=name))."""
    IMPLS[impl.name] = impl
