"""`irax.random`: JAX's `jax.random`, drawing bit for bit the numbers JAX draws
for the same key (threefry2x32 in JAX's partitionable scheme: keys.py; JAX's
other PRNG implementations: prng.py; the samplers: samplers.py, and those
that loop until a draw is accepted: rejection.py). Every sampler is traced
to MLIR like any other op, so it runs eagerly and under `jit`, `vmap` and
`grad`."""
from irax.random.keys import (KeyArray, PRNGKey, bits, clone, fold_in, key, key_data, key_dtype, key_impl, split,
                              wrap_key_data)
from irax.random.samplers import *  # noqa: F401,F403
from irax.random.rejection import *  # noqa: F401,F403
from irax.random import philox, rbg, rejection, samplers, threefry4x32  # noqa: F401 (registering their PRNGs)

__all__ = sorted(["KeyArray", "PRNGKey", "bits", "clone", "fold_in", "key", "key_data", "key_dtype", "key_impl",
                  "split", "wrap_key_data", *samplers.__all__, *rejection.__all__])
