"""`irax.image`: image resizing, as `jax.image`.

Resampling is separable. Along each resized dim it is a linear map from the
`m` input pixels to the `n` output pixels, an (m, n) weight matrix W:
`out[..., o, ...] = sum_i x[..., i, ...] W[i, o]`, and one einsum applies the
matrices of all the resized dims to the image. So the functions are
compositions of `irax.numpy` ops, jitted once per shape and method, and
they differentiate (in the image, and in scale and translation) and vmap
as those ops do.

W comes from the warp and a kernel. Pixels are centred at half-integers:
output pixel o samples the input at `s_o = (o + 0.5 - translation) / scale - 0.5`
(in input pixel indices), and `W[i, o] = k(|s_o - i| / k_scale)`, where
`k_scale = max(1 / scale, 1)` with `antialias` (downsampling widens the
kernel, a low-pass filter) and 1 without. Each column is divided by its sum
(the kernel's taps that fall off the image are dropped, the rest renormalised)
and is zero where `s_o` lies outside the image. Two methods differ: `AREA`'s
weight is the length of the overlap of output pixel o's footprint with input
pixel i, and `CUBIC_PYTORCH` without antialias (PyTorch's bicubic) repeats the
edge pixels instead of dropping the taps off the image.
"""
from __future__ import annotations

import enum
import functools
from collections.abc import Sequence

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.jit import jit
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import canonicalize_axis, promote_args_inexact
from irax.typing import Array, ArrayLike

__all__ = ["ResizeMethod", "resize", "scale_and_translate"]


class ResizeMethod(enum.Enum):
    """How `resize` and `scale_and_translate` interpolate (JAX's values).

    NEAREST: the nearest input pixel (`resize` only; keeps the dtype).
    LINEAR: the triangle kernel, max(0, 1 - |x|).
    LANCZOS3, LANCZOS5: the Lanczos kernel sinc(x) sinc(x / a), a = 3 or 5.
    CUBIC: the Keys cubic kernel with A = -0.5 (as Pillow and TensorFlow).
    CUBIC_PYTORCH: CUBIC with antialias; without it, PyTorch's bicubic (Keys
      with A = -0.75, the edge pixels repeated past the border).
    AREA: the average of the input pixels under each output pixel, each
      weighted by the length it covers (TensorFlow's area resize).
    """
    NEAREST = 0
    LINEAR = 1
    LANCZOS3 = 2
    LANCZOS5 = 3
    CUBIC = 4
    CUBIC_PYTORCH = 5
    AREA = 6

    @staticmethod
    def from_string(s: str) -> ResizeMethod:
        """The method a name stands for ("bilinear" is LINEAR, ...)."""
        try:
            return _NAMES[s]
        except KeyError:
            raise ValueError(f'Unknown resize method "{s}"') from None


_NAMES = {
    "nearest": ResizeMethod.NEAREST,
    **dict.fromkeys(["linear", "bilinear", "trilinear", "triangle"], ResizeMethod.LINEAR),
    "lanczos3": ResizeMethod.LANCZOS3,
    "lanczos5": ResizeMethod.LANCZOS5,
    **dict.fromkeys(["cubic", "bicubic", "tricubic"], ResizeMethod.CUBIC),
    **dict.fromkeys(["cubic-pytorch", "bicubic-pytorch"], ResizeMethod.CUBIC_PYTORCH),
    "area": ResizeMethod.AREA,
}


def _method(method) -> ResizeMethod:
    if isinstance(method, ResizeMethod):
        return method
    if isinstance(method, str):
        return ResizeMethod.from_string(method)
    raise ValueError(f"Unknown resize method {method!r}: expected a ResizeMethod or one of {sorted(_NAMES)}")


# ---------------------------------------------------------------------------
# Kernels: functions of the distance x >= 0 between a sample and a pixel centre

def _triangle(x):
    return jnp.maximum(0, 1 - x)


def _lanczos(a):
    """sinc(x) sinc(x / a) = a sin(pi x) sin(pi x / a) / (pi x)^2 on [0, a]:
    1 near 0 (where the quotient is 0 / 0: the divisor is made 1 there, so
    the unused branch's gradient is finite too), 0 past a."""
    def kernel(x):
        y = a * jnp.sin(np.pi * x) * jnp.sin(np.pi * x / a)
        out = jnp.where(x > 1e-3, y / jnp.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
        return jnp.where(x > a, 0.0, out)
    return kernel


def _keys_cubic(a):
    """Keys' cubic convolution kernel with parameter A = `a` (Horner form):
    (A + 2) x^3 - (A + 3) x^2 + 1 on [0, 1), A x^3 - 5A x^2 + 8A x - 4A on [1, 2)."""
    def kernel(x):
        near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
        return jnp.where(x >= 2.0, 0.0, jnp.where(x >= 1.0, far, near))
    return kernel


# method -> (radius of its support, kernel); AREA has none (its weights are overlaps).
_KERNELS = {
    ResizeMethod.LINEAR: (1, _triangle),
    ResizeMethod.LANCZOS3: (3, _lanczos(3.0)),
    ResizeMethod.LANCZOS5: (5, _lanczos(5.0)),
    ResizeMethod.CUBIC: (2, _keys_cubic(-0.5)),
    ResizeMethod.CUBIC_PYTORCH: (2, _keys_cubic(-0.75)),
}

# A column whose weights sum to no more than this (in magnitude) is all zeros, not renormalised.
_TINY_SUM = 1000.0 * float(np.finfo(np.float32).eps)


def _weights(in_size: int, out_size: int, scale, translation, method: ResizeMethod, antialias: bool) -> Array:
    """The (in_size, out_size) matrix W of one dim (module docstring), in
    the dtype of `scale` and `translation` (Python floats, or arrays)."""
    dtype = jnp.result_type(scale, translation)
    if method is ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC  # PyTorch's antialiased bicubic is Keys' A = -0.5
    edge_padded = method is ResizeMethod.CUBIC_PYTORCH
    inv_scale = 1.0 / scale
    outputs = jnp.arange(out_size, dtype=dtype)
    sample = (outputs + 0.5) * inv_scale - translation * inv_scale - 0.5
    if method is ResizeMethod.AREA:
        left = outputs * inv_scale - translation * inv_scale  # output pixel o covers [left, left + 1 / scale)
        pixels = jnp.arange(in_size, dtype=dtype)[:, None]  # input pixel i covers [i, i + 1)
        w = jnp.maximum(0.0, jnp.minimum(left + inv_scale, pixels + 1.0) - jnp.maximum(left, pixels))
    else:
        radius, kernel = _KERNELS[method]
        pad = radius if edge_padded else 0  # taps up to `radius` pixels past each edge, folded onto the edge pixel
        taps = jnp.arange(-pad, in_size + pad, dtype=dtype)
        kernel_scale = jnp.maximum(inv_scale, 1.0) if antialias else 1.0
        w = kernel(jnp.abs(sample - taps[:, None]) / kernel_scale)
        if pad:
            # onto[j, t]: tap t clamped into the image is pixel j; W[j] is the sum of those taps' rows
            onto = np.clip(np.arange(-pad, in_size + pad), 0, in_size - 1)[None, :] == np.arange(in_size)[:, None]
            w = jnp.matmul(jnp.asarray(onto, dtype), w)
    total = jnp.sum(w, axis=0, keepdims=True)
    w = jnp.where(jnp.abs(total) > _TINY_SUM, w / jnp.where(total != 0, total, 1), 0)
    if edge_padded:
        return w
    return jnp.where((sample >= -0.5) & (sample <= in_size - 0.5), w, 0)


def _resample(x: Array, shape: tuple, spatial_dims: tuple, scale: Sequence, translation: Sequence,
              method: ResizeMethod, antialias: bool, precision) -> Array:
    """x contracted with the weight matrix of each dim in `spatial_dims`: one einsum."""
    if not spatial_dims:
        return x
    operands, out_dims = [], list(range(x.ndim))
    for i, d in enumerate(spatial_dims):
        w = _weights(x.shape[d], shape[d], scale[i], translation[i], method, antialias)
        operands += [w.astype(x.dtype), [d, x.ndim + i]]
        out_dims[d] = x.ndim + i
    return jnp.einsum(x, list(range(x.ndim)), *operands, out_dims, precision=precision)


def _check_rank(shape: tuple, image: Array) -> None:
    if len(shape) != image.ndim:
        raise ValueError(f"shape must have length equal to the number of dimensions of x;  {shape} vs {image.shape}")


# ---------------------------------------------------------------------------
# resize

def _nearest(x: Array, shape: tuple) -> Array:
    """Output pixel o of a dim of m -> n pixels is input pixel floor((o + 0.5) m / n),
    computed in float32 as JAX does (static: the shapes are)."""
    for d, (m, n) in enumerate(zip(x.shape, shape)):
        if m != n:
            centres = (np.arange(n, dtype=np.float32) + np.float32(0.5)) * np.float32(m) / np.float32(n)
            x = jnp.take(x, np.floor(centres).astype(np.int32), axis=d)
    return x


@functools.partial(jit, static_argnums=(1, 2, 3, 4))
def _resize(image: Array, shape: tuple, method: ResizeMethod, antialias: bool, precision) -> Array:
    if method is ResizeMethod.NEAREST:
        return _nearest(image, shape)
    spatial_dims = tuple(d for d in range(image.ndim) if image.shape[d] != shape[d])
    scale = [shape[d] / image.shape[d] if shape[d] else 1.0 for d in spatial_dims]
    return _resample(image, shape, spatial_dims, scale, [0.0] * len(spatial_dims), method, antialias, precision)


def resize(image: ArrayLike, shape: Sequence[int], method: str | ResizeMethod, antialias: bool = True,
           precision: lax.Precision | None = lax.Precision.HIGHEST) -> Array:
    """`image` resampled to `shape` (every dim of it: a batch or channel dim
    keeps its size), as `jax.image.resize`. `method` is a ResizeMethod or its
    name: "nearest", "linear" ("bilinear", "trilinear", "triangle"),
    "lanczos3", "lanczos5", "cubic" ("bicubic", "tricubic"), "cubic-pytorch"
    ("bicubic-pytorch"), "area". `antialias` widens the kernel when
    downsampling (no effect when upsampling). NEAREST keeps the image's
    dtype and ignores `antialias` and `precision`; the others return floats
    (an integer image becomes the default float). A resized dim of m -> n
    pixels is `scale_and_translate` with scale n / m and translation 0."""
    shape = canonicalize_shape(shape)
    method = _method(method)
    image = jnp.asarray(image)
    _check_rank(shape, image)
    if method is not ResizeMethod.NEAREST:
        image, = promote_args_inexact("resize", image)
    return _resize(image, shape, method, antialias, precision)


# ---------------------------------------------------------------------------
# scale_and_translate

@functools.partial(jit, static_argnums=(3, 4, 5, 6, 7))
def _scale_and_translate(image: Array, scale: Array, translation: Array, shape: tuple, spatial_dims: tuple,
                         method: ResizeMethod, antialias: bool, precision) -> Array:
    return _resample(image, shape, spatial_dims, scale, translation, method, antialias, precision)


def scale_and_translate(image: ArrayLike, shape: Sequence[int], spatial_dims: Sequence[int], scale: ArrayLike,
                        translation: ArrayLike, method: str | ResizeMethod, antialias: bool = True,
                        precision: lax.Precision | None = lax.Precision.HIGHEST) -> Array:
    """`image` resampled to `shape` under the warp that takes input location
    y (pixel centres at i + 0.5) of dim `spatial_dims[k]` to
    `y * scale[k] + translation[k]`, as `jax.image.scale_and_translate`:
    each output pixel samples the input at the inverse warp of its centre, 0
    where that lies outside the image. Dims not in `spatial_dims` must keep
    their size. `method` is as `resize`'s except NEAREST; `scale` and
    `translation` are arrays of len(spatial_dims) and may be traced (the
    result is differentiable in them). torch's `align_corners=True` is
    scale (n - 1) / (m - 1), translation 0.5 (1 - scale)."""
    shape = canonicalize_shape(shape)
    image = jnp.asarray(image)
    _check_rank(shape, image)
    method = _method(method)
    if method is ResizeMethod.NEAREST:
        raise ValueError("Nearest neighbor resampling is not currently supported for scale_and_translate.")
    spatial_dims = tuple(canonicalize_axis("scale_and_translate", d, image.ndim) for d in spatial_dims)
    image, = promote_args_inexact("scale_and_translate", image)
    scale, translation = promote_args_inexact("scale_and_translate", scale, translation)
    if not len(spatial_dims) == len(scale) == len(translation):
        raise ValueError(f"scale_and_translate: spatial_dims, scale and translation must have the same length, got "
                         f"{len(spatial_dims)}, {len(scale)} and {len(translation)}")
    return _scale_and_translate(image, scale, translation, shape, spatial_dims, method, antialias, precision)
