"""`irax.scipy.special`, as `jax.scipy.special`."""
from __future__ import annotations

import numpy as np

from irax.frontend.numpy import reductions, ufuncs
from irax.frontend.numpy.util import canonicalize_axes, promote_args_inexact
from irax.typing import Array, ArrayLike, Axis


def logsumexp(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Array:
    """log(sum(exp(a))) over `axis`, without overflow:

        logsumexp(a) = m + log(sum(exp(a - m)))      m = max(a) where finite, else 0

    Shifting by the maximum keeps every exp(a - m) <= 1. A row of -inf (or an
    empty one) gives -inf, a +inf gives +inf, a NaN gives NaN.
    """
    (a,) = promote_args_inexact("logsumexp", a)
    axes = canonicalize_axes("logsumexp", axis, a.ndim)
    shift = reductions.max(a, axes, keepdims=True, initial=-np.inf)
    shift = ufuncs.where(ufuncs.isfinite(shift), shift, 0)  # -inf - -inf would be NaN
    total = reductions.sum(ufuncs.exp(ufuncs.subtract(a, shift)), axes, keepdims=keepdims)
    if not keepdims:
        shift = reductions.max(shift, axes)  # drops the unit axes: the max of one element is itself
    return ufuncs.add(ufuncs.log(total), shift)


__all__ = ["logsumexp"]
