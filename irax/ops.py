"""``jax.ops``: reductions within segments of an array.

`segment_sum(data, segment_ids, n)[s]` combines the rows `data[i]` (along
axis 0) whose `segment_ids[i] == s`, for s in [0, n):

    out = full((n,) + data.shape[1:], identity)
    out.at[segment_ids].add(data)          (sum; prod, max, min alike)

so a segment that no id names holds the identity of the combination (0, 1,
-inf / the dtype's smallest integer / False for max, +inf / the largest
integer / True for min), and ids outside [0, n), negative ones included, are
dropped (mode "clip" clamps them instead). The derivatives are the scatter's.

`bucket_size` (JAX's, for the rounding of long sums) combines each run of
`bucket_size` consecutive rows into its own row of segments first, then
reduces those rows.
"""
from __future__ import annotations

import operator

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.lax_indexing import GatherScatterMode
from irax.frontend.numpy import creation, reductions
from irax.frontend.numpy.util import asarray, check_arraylike

__all__ = ["segment_max", "segment_min", "segment_prod", "segment_sum"]


def _identity(method, dtype):
    """The value that `method` (an `.at[]` update) leaves any value unchanged with."""
    if method in ("add", "multiply"):
        return {"add": 0, "multiply": 1}[method]
    if dtype == np.bool_:
        return method == "min"
    if dtypes.is_int(dtype):
        info = np.iinfo(dtype)
        return {"max": info.min, "min": info.max}[method]
    return {"max": -np.inf, "min": np.inf}[method]


def _num_segments(name, num_segments, segment_ids):
    """`num_segments` as a Python int, `max(segment_ids) + 1` when None: the
    size of the result, so it must be known while tracing."""
    if num_segments is None:
        if isinstance(segment_ids, core.Tracer):
            raise core.ConcretizationTypeError(
                "Abstract tracer value encountered where concrete value is expected: traced array with shape "
                f"{segment_ids.aval.str_short()}\n{name}() `num_segments` argument.\nThe number of segments, "
                "max(segment_ids) + 1 when not given, is the size of the result: pass `num_segments` (static "
                "under jit) to use it in a traced function.")
        num_segments = np.max(np.asarray(segment_ids)) + 1
    if isinstance(num_segments, core.Tracer):
        raise core.ConcretizationTypeError(
            "Abstract tracer value encountered where concrete value is expected: traced array with shape "
            f"{num_segments.aval.str_short()}\n{name}() `num_segments` argument.")
    num_segments = operator.index(num_segments)
    if num_segments < 0:
        raise ValueError("num_segments must be non-negative.")
    return num_segments


def _segment_update(name, method, reducer, data, segment_ids, num_segments, unique_indices, bucket_size, mode):
    check_arraylike(name, data, segment_ids)
    data, segment_ids = asarray(data), asarray(segment_ids)
    num_segments = _num_segments(name, num_segments, segment_ids)
    mode = "clip" if GatherScatterMode.from_any(mode) is GatherScatterMode.CLIP else "drop"
    identity = _identity(method, data.dtype)
    if bucket_size is None:
        out = creation.full((num_segments,) + data.shape[1:], identity, data.dtype)
        index = segment_ids
    else:
        buckets = -(-segment_ids.size // bucket_size)
        out = creation.full((buckets, num_segments) + data.shape[1:], identity, data.dtype)
        index = (creation.arange(segment_ids.shape[0]) // bucket_size, segment_ids[None, :])
    if unique_indices:  # each segment combines at most one row with the identity: it is that row
        method = "set"
    out = getattr(out.at[index], method)(data, mode=mode, wrap_negative_indices=False)
    return out if bucket_size is None else reducer(out, axis=0).astype(data.dtype)


def segment_sum(data, segment_ids, num_segments=None, indices_are_sorted=False, unique_indices=False,
                bucket_size=None, mode=None):
    """The sum of the rows of `data` in each segment (0 where none):
    shape `(num_segments,) + data.shape[1:]`. `indices_are_sorted` and
    `unique_indices` are promises; the latter lets segment_prod have a
    derivative (a product scatter has none with repeated indices, as JAX's)."""
    return _segment_update("segment_sum", "add", reductions.sum, data, segment_ids, num_segments, unique_indices,
                           bucket_size, mode)


def segment_prod(data, segment_ids, num_segments=None, indices_are_sorted=False, unique_indices=False,
                 bucket_size=None, mode=None):
    """The product of the rows of `data` in each segment (1 where none)."""
    return _segment_update("segment_prod", "multiply", reductions.prod, data, segment_ids, num_segments, unique_indices,
                           bucket_size, mode)


def segment_max(data, segment_ids, num_segments=None, indices_are_sorted=False, unique_indices=False,
                bucket_size=None, mode=None):
    """The maximum of the rows of `data` in each segment (-inf, or the
    dtype's smallest value, where none); ties share the derivative."""
    return _segment_update("segment_max", "max", reductions.max, data, segment_ids, num_segments, unique_indices,
                           bucket_size, mode)


def segment_min(data, segment_ids, num_segments=None, indices_are_sorted=False, unique_indices=False,
                bucket_size=None, mode=None):
    """The minimum of the rows of `data` in each segment (+inf, or the
    dtype's largest value, where none); ties share the derivative."""
    return _segment_update("segment_min", "min", reductions.min, data, segment_ids, num_segments, unique_indices,
                           bucket_size, mode)
