"""`lax.conv_general_dilated_patches` and `lax.conv_general_dilated_local`,
on irax's `conv_general_dilated` (convolution.py), as JAX defines them.

Patches: every window of every input channel, flattened into the feature
dimension of the output, channel-major: output feature c * S + s is input
channel c at window position s (S = prod(filter_shape), positions in
row-major order). That is a grouped convolution (one group per channel) with
a one-hot filter: filter (c * S + s, 0, k...) = [k... is position s].

Local (unshared) convolution: a separate kernel at every output position,
rhs[..., position..., C * S, O] (layout from dimension_numbers' rhs_spec):
the patches contracted with it, position by position.
"""
from collections.abc import Sequence
from typing import Any

import numpy as np

from irax.frontend.convolution import ConvGeneralDilatedDimensionNumbers, conv_dimension_numbers, conv_general_dilated
from irax.frontend.lax_structural import dot_general
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike

__all__ = ["conv_general_dilated_local", "conv_general_dilated_patches"]


def _one_hot_filter(n_channels: int, filter_shape: tuple, rhs_spec, dtype) -> np.ndarray:
    """(C * S, 1, *filter_shape) one-hot windows, O and I moved to rhs_spec's places."""
    size = int(np.prod(filter_shape, dtype=np.int64))
    eye = np.broadcast_to(np.eye(size, dtype=dtype), (n_channels, size, size))
    rhs = eye.reshape((n_channels * size, 1) + filter_shape)
    return np.moveaxis(rhs, (0, 1), (rhs_spec[0], rhs_spec[1]))


def conv_general_dilated_patches(lhs: ArrayLike, filter_shape: Sequence[int], window_strides: Sequence[int],
                                 padding: str | Sequence[tuple[int, int]], lhs_dilation: Sequence[int] | None = None,
                                 rhs_dilation: Sequence[int] | None = None,
                                 dimension_numbers: ConvGeneralDilatedDimensionNumbers = None, precision: Any = None,
                                 preferred_element_type: Any = None) -> Array:
    """The patches `conv_general_dilated` would multiply a filter of spatial
    shape `filter_shape` with, as jax.lax.conv_general_dilated_patches: output
    features are C * prod(filter_shape), channel-major (module docstring)."""
    lhs = asarray(lhs)
    filter_shape = tuple(int(k) for k in filter_shape)
    dnums = conv_dimension_numbers(lhs.shape, (1, 1) + filter_shape, dimension_numbers)
    n_channels = lhs.shape[dnums.lhs_spec[1]]
    rhs = _one_hot_filter(n_channels, filter_shape, dnums.rhs_spec, lhs.dtype)
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dnums,
                                feature_group_count=n_channels, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_local(lhs: ArrayLike, rhs: ArrayLike, window_strides: Sequence[int],
                               padding: str | Sequence[tuple[int, int]], filter_shape: Sequence[int],
                               lhs_dilation: Sequence[int] | None = None, rhs_dilation: Sequence[int] | None = None,
                               dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
                               precision: Any = None) -> Array:
    """The unshared convolution, as jax.lax.conv_general_dilated_local: rhs's
    spatial dimensions are output positions, its I dimension the C * S
    channel-major patch features (module docstring)."""
    lhs = asarray(lhs)
    patches = conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation, rhs_dilation,
                                           dimension_numbers)
    _, rhs_spec, out_spec = conv_dimension_numbers(lhs.shape, (1, 1) + tuple(filter_shape), dimension_numbers)
    # contract the patch features; the output positions are batch dimensions of the dot, in the patches' order
    position_dims = sorted(range(len(out_spec) - 2), key=lambda i: out_spec[2 + i])
    lhs_batch = [out_spec[2 + i] for i in position_dims]
    rhs_batch = [rhs_spec[2 + i] for i in position_dims]
    out = dot_general(patches, rhs, (([out_spec[1]], [rhs_spec[1]]), (lhs_batch, rhs_batch)), precision=precision)
    # (positions..., N, O) -> out_spec's layout
    return out.transpose(_to_spec(out.ndim, out_spec))


def _to_spec(ndim: int, out_spec) -> list:
    """The permutation taking (positions in out_spec's order..., N, O) to out_spec's layout."""
    source = {dim: k for k, dim in enumerate(sorted(out_spec[2:]))}
    source[out_spec[0]], source[out_spec[1]] = ndim - 2, ndim - 1
    return [source[d] for d in range(ndim)]
