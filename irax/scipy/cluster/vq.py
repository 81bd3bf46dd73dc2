"""`irax.scipy.cluster.vq`, as `jax.scipy.cluster.vq`: assigning observations
to the nearest code of a code book."""
from __future__ import annotations

import irax.numpy as jnp
from irax.frontend.numpy.util import check_arraylike, promote_args_inexact
from irax.typing import Array, ArrayLike


def vq(obs: ArrayLike, code_book: ArrayLike, check_finite: bool = True) -> tuple[Array, Array]:
    """(code, dist): for each observation (row of obs, M x N, or element of a
    1-d obs), the index of its nearest code (row of code_book, K x N; the
    first of equals) and the Euclidean distance to it."""
    del check_finite  # as JAX: a traced value cannot be checked
    check_arraylike("scipy.cluster.vq.vq", obs, code_book)
    obs, code_book = promote_args_inexact("scipy.cluster.vq.vq", obs, code_book)
    if obs.ndim != code_book.ndim:
        raise ValueError("Observation and code_book should have the same rank")
    if obs.ndim == 1:
        obs, code_book = obs[:, None], code_book[:, None]
    if obs.ndim != 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    dist = jnp.linalg.norm(obs[:, None, :] - code_book[None, :, :], axis=-1)  # (M, K)
    code = jnp.argmin(dist, axis=-1)
    return code, jnp.take_along_axis(dist, code[:, None], axis=-1)[:, 0]


__all__ = ["vq"]
