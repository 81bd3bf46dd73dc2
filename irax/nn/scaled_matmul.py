"""Block-scaled matrix products, as jax.nn.scaled_matmul and
jax.nn.scaled_dot_general (JAX's `_src/cudnn/scaled_matmul_stablehlo.py`).

A block-scaled operand is low-precision data x (B, M, K) with one scale per
block of `K // K_s` consecutive entries along K, s (B, M, K_s); its value is

    x_deq[b, m, k] = x[b, m, k] s[b, m, k // (K // K_s)]

and scaled_matmul(a, b, sa, sb)[b, m, n] = sum_k a_deq[b, m, k] b_deq[b, n, k],
computed in float32. JAX runs it only through cuDNN (on CPU it has no
lowering); irax computes that definition: dequantize, then one float32
dot_general. The two configurations JAX names:

    mxfp8   float8_e4m3fn data, float8_e8m0fnu scales (powers of two), blocks of 32
    nvfp4   float4_e2m1fn data, float8_e4m3fn scales, blocks of 16, and a float32
            global scale per operand

scaled_dot_general quantizes high-precision operands itself (`quantize`) and
has JAX's custom VJP: the cotangent products are block-scaled too, and nvfp4
zeroes the gradient of entries that quantization clipped.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.custom_derivatives import custom_vjp
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike, DTypeLike

_BATCH_MATMUL = (((2,), (2,)), ((0,), (0,)))  # (B, M, K) x (B, N, K) -> (B, M, N)


@dataclasses.dataclass(slots=True)
class BlockScaleConfig:
    """How scaled_dot_general quantizes one operand (JAX's class of this name)."""
    mode: str
    block_size: int
    data_type: DTypeLike
    scale_type: DTypeLike
    global_scale: Array | None
    infer_only: bool


def get_scaled_dot_general_config(mode: str, global_scale: Array | None = None) -> BlockScaleConfig:
    """The BlockScaleConfig of 'mxfp8' or 'nvfp4' (whose global scale defaults to [1.])."""
    if mode == "nvfp4":
        one = jnp.ones((1,), dtype=np.float32)
        return BlockScaleConfig(mode="nvfp4", block_size=16, data_type=dtypes.float4_e2m1fn,
                                scale_type=dtypes.float8_e4m3fn,
                                global_scale=one if global_scale is None else global_scale, infer_only=False)
    if mode == "mxfp8":
        return BlockScaleConfig(mode="mxfp8", block_size=32, data_type=dtypes.float8_e4m3fn,
                                scale_type=dtypes.float8_e8m0fnu, global_scale=None, infer_only=False)
    raise ValueError(f"Unsupported mode: {mode}")


def _dequantized(x, scales):
    """x (B, M, K) times its block scales (B, M, K_s), repeated K // K_s times along K, in float32."""
    repeated = jnp.repeat(scales.astype(np.float32), x.shape[-1] // scales.shape[-1], axis=-1)
    return x.astype(np.float32) * repeated


def scaled_matmul(lhs: ArrayLike, rhs: ArrayLike, lhs_scales: ArrayLike, rhs_scales: ArrayLike,
                  preferred_element_type: DTypeLike = np.float32) -> Array:
    """out[b, m, n] = sum_k lhs[b, m, k] rhs[b, n, k] ls[b, m, k // bl] rs[b, n, k // br]
    with block sizes bl = K // ls.shape[-1], br = K // rs.shape[-1]: lhs (B, M, K),
    rhs (B, N, K), scales (B, M or N, K_s). Computed in float32, returned as
    `preferred_element_type`."""
    a, b, a_scales, b_scales = map(asarray, (lhs, rhs, lhs_scales, rhs_scales))
    if not all(x.ndim == 3 for x in (a, b, a_scales, b_scales)):
        raise ValueError("scaled_matmul requires all inputs to be 3-dimensional arrays")
    (B_a, M_a, K_a), (B_b, N_b, K_b) = a.shape, b.shape
    if K_a != K_b or B_a != B_b:
        raise ValueError("scaled_matmul requires inputs a and b to have matching batch (B) and contract (K) "
                         f"dimensions, but got shapes {a.shape} and {b.shape}")
    (B_as, M_as, K_as), (B_bs, N_bs, K_bs) = a_scales.shape, b_scales.shape
    if K_as != K_bs or B_as != B_bs:
        raise ValueError("scaled_matmul requires scales to have matching batch (B) and contract (K) dimensions, "
                         f"but got shapes {a_scales.shape} and {b_scales.shape}")
    if M_as != M_a or N_bs != N_b:
        raise ValueError("scaled_matmul requires scales to match non-contract dimensions of inputs, but got shapes "
                         f"a: {a.shape}, b: {b.shape}, a_scales: {a_scales.shape}, b_scales: {b_scales.shape}")
    out_dtype = dtypes.canonicalize_dtype(preferred_element_type)
    out = lax.dot_general(_dequantized(a, a_scales), _dequantized(b, b_scales), _BATCH_MATMUL)
    return out.astype(out_dtype)


# ---------------------------------------------------------------------------
# Quantization (JAX's `quantize` and its e8m0 helpers)

def _to_e8m0_rounding_up(x):
    """The e8m0 code (uint8) of the power of two at or above float32 x > 0:
    its exponent, plus one unless x is a power of two already (or a
    float32 subnormal at most 2^-127)."""
    bits = lax.bitcast_convert_type(x.astype(np.float32), np.uint32)
    exp, mant = bits >> 23, bits & 0x7FFFFF
    round_up = (mant > 0) & (exp != 0xFE) & ~((exp == 0) & (mant <= 0x400000))
    return jnp.where(round_up, exp + 1, exp).astype(np.uint8)


def _e8m0_to(codes, dtype):
    """2^(code - 127) as `dtype`, code 0 read as 2^-127 (2^-15 for float16, its
    smallest power of two that is not flushed)."""
    value = lax.bitcast_convert_type(codes.astype(np.uint32) << 23, np.float32)
    near_zero = 2.0 ** -15 if dtype == np.float16 else 2.0 ** -127
    return jnp.where(value == 0, jnp.asarray(near_zero, np.float32), value).astype(dtype)


def quantize(x, config: BlockScaleConfig):
    """(x_q, scales) of x (B, M, K): per block of `config.block_size` along K the
    scale s = max |x| / max(data_type) (mxfp8: rounded up to a power of two;
    nvfp4: of x / global_scale, as float8_e4m3fn), and x_q = clip(x / s) as data_type."""
    shape, block = x.shape, config.block_size
    if not (shape[-1] >= block and shape[-1] % block == 0):
        raise ValueError(f"the contracted size {shape[-1]} must be a multiple of the block size {block}")
    x = jnp.reshape(x, shape[:-1] + (shape[-1] // block, block))
    data_max = jnp.asarray(jnp.finfo(config.data_type).max, np.float32).astype(x.dtype)

    def block_scales(values):
        return jnp.max(jnp.abs(values), axis=-1, keepdims=True) / data_max

    if config.mode == "mxfp8":
        scales_q = _to_e8m0_rounding_up(block_scales(x))
        scaled = x / _e8m0_to(scales_q, x.dtype)
    elif config.mode == "nvfp4":
        scale_max = jnp.asarray(jnp.finfo(config.scale_type).max, np.float32).astype(x.dtype)
        x = x / config.global_scale
        scales_q = jnp.clip(block_scales(x), 0, scale_max).astype(config.scale_type)
        scaled = x / scales_q.astype(np.float32)
    else:
        raise ValueError(f"Unrecognized mode: {config.mode}.")
    x_q = jnp.reshape(jnp.clip(scaled, -data_max, data_max).astype(config.data_type), shape)
    scales_q = jnp.reshape(scales_q, scales_q.shape[:-1])
    if scales_q.dtype != np.dtype(config.scale_type):  # the e8m0 codes, as float8_e8m0fnu
        scales_q = lax.bitcast_convert_type(scales_q, config.scale_type)
    return x_q, scales_q


# ---------------------------------------------------------------------------
# scaled_dot_general

def _as_3d(x, contracting, batch):
    """x transposed to (batch, free, contracting) axes and reshaped to (B, M, K)."""
    free = [d for d in range(x.ndim) if d not in contracting and d not in batch]
    order = [d for d in range(x.ndim) if d in batch] + free + [d for d in range(x.ndim) if d in contracting]
    size = lambda axes: int(np.prod([x.shape[d] for d in axes], dtype=int))  # noqa: E731
    return jnp.reshape(jnp.transpose(x, order), (size(batch), size(free), size(contracting)))


def _dot_shape(lhs_shape, rhs_shape, lhs_dn, rhs_dn):
    """dot_general's result shape: batch, lhs free, rhs free."""
    (lc, lb), (rc, rb) = lhs_dn, rhs_dn
    return (tuple(n for i, n in enumerate(lhs_shape) if i in lb)
            + tuple(n for i, n in enumerate(lhs_shape) if i not in lc and i not in lb)
            + tuple(n for i, n in enumerate(rhs_shape) if i not in rc and i not in rb))


def _scaled_dot(lhs, rhs, dimension_numbers, preferred_element_type, configs):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs_q, lhs_scales = quantize(_as_3d(lhs, lc, lb), configs[0])
    rhs_q, rhs_scales = quantize(_as_3d(rhs, rc, rb), configs[1])
    nvfp4 = configs[0].mode == "nvfp4"
    out = scaled_matmul(lhs_q, rhs_q, lhs_scales, rhs_scales, np.float32 if nvfp4 else preferred_element_type)
    if nvfp4:
        out = (out * (configs[0].global_scale * configs[1].global_scale)).astype(preferred_element_type)
    return jnp.reshape(out, _dot_shape(lhs.shape, rhs.shape, (lc, lb), (rc, rb)))


def _ranges_like(*lists):
    start = 0
    for xs in lists:
        yield range(start, start + len(xs))
        start += len(xs)


def _transpose_lhs(g, x, y, dimension_numbers, preferred_element_type, configs, swap_ans=False):
    """The cotangent of dot_general's lhs x, g . y over y's free axes (block-scaled unless nvfp4)."""
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = [d for d in range(x.ndim) if d not in x_contract and d not in x_batch]
    y_kept = [d for d in range(y.ndim) if d not in y_contract and d not in y_batch]
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    x_contract_sorted_by_y = list(np.take(x_contract, np.argsort(y_contract)))
    out_axes = np.argsort(list(x_batch) + x_kept + x_contract_sorted_by_y)
    y_dn, g_dn = (tuple(y_kept), tuple(y_batch)), (tuple(ans_y), tuple(ans_batch))
    y_3d, g_3d = _as_3d(y, *y_dn), _as_3d(g, *g_dn)
    if configs[0].mode != "nvfp4":
        g_q, g_scales = quantize(g_3d, configs[0])
        y_q, y_scales = quantize(y_3d, configs[1])
        out = scaled_matmul(g_q, y_q, g_scales, y_scales, preferred_element_type)
    else:
        out = lax.dot_general(g_3d, y_3d, _BATCH_MATMUL, preferred_element_type=preferred_element_type)
    out = jnp.reshape(out, _dot_shape(g.shape, y.shape, g_dn, y_dn))
    return jnp.transpose(out, tuple(int(a) for a in out_axes))


def _scaled_dot_bwd(dimension_numbers, preferred_element_type, configs, residuals, g):
    lhs, rhs = residuals
    (lc, rc), (lb, rb) = dimension_numbers
    grad_lhs = _transpose_lhs(g, lhs, rhs, dimension_numbers, preferred_element_type, [configs[2], configs[1]])
    grad_rhs = _transpose_lhs(g, rhs, lhs, ((rc, lc), (rb, lb)), preferred_element_type, [configs[2], configs[0]],
                              swap_ans=True)
    if configs[2].mode == "nvfp4":  # straight-through, but 0 where quantization clipped
        data_max = float(jnp.finfo(configs[0].data_type).max)
        scale_max = float(jnp.finfo(configs[0].scale_type).max)
        grad_lhs = jnp.where(jnp.abs(lhs) <= configs[0].global_scale * data_max * scale_max, grad_lhs, 0)
        grad_rhs = jnp.where(jnp.abs(rhs) <= configs[1].global_scale * data_max * scale_max, grad_rhs, 0)
    return grad_lhs, grad_rhs


def _make_scaled_dot(dimension_numbers, preferred_element_type, configs):
    """The differentiable scaled dot for fixed (hashable) arguments."""
    @custom_vjp
    def scaled_dot(lhs, rhs):
        return _scaled_dot(lhs, rhs, dimension_numbers, preferred_element_type, configs)

    def fwd(lhs, rhs):
        return scaled_dot(lhs, rhs), (lhs, rhs)

    def bwd(residuals, g):
        return _scaled_dot_bwd(dimension_numbers, preferred_element_type, configs, residuals, g)

    scaled_dot.defvjp(fwd, bwd)
    return scaled_dot


def scaled_dot_general(lhs: ArrayLike, rhs: ArrayLike, dimension_numbers: lax.DotDimensionNumbers,
                       preferred_element_type: DTypeLike = np.float32,
                       configs: list[BlockScaleConfig] | None = None, implementation: str | None = None) -> Array:
    """lax.dot_general of lhs and rhs, each first block-quantized along its
    contracted axes by configs[0] and configs[1] (configs[2] quantizes the
    cotangent in the gradient); without configs, plain lax.dot_general.
    Result axes: batch, lhs free, rhs free."""
    if implementation is not None:
        warnings.warn("Backend selector, now ignored. The system chooses the backend automatically.",
                      DeprecationWarning, stacklevel=2)
    if configs is None:
        return lax.dot_general(lhs, rhs, dimension_numbers, preferred_element_type=preferred_element_type)
    preferred = np.dtype(preferred_element_type)
    if preferred not in (np.dtype(np.float32), np.dtype(dtypes.bfloat16), np.dtype(np.float16)):
        raise TypeError(f"Only support preferred_element_type in (f32, bf16, f16), but got {preferred_element_type}")
    lhs, rhs = asarray(lhs), asarray(rhs)
    (lc, rc), (lb, rb) = ((tuple(d) for d in pair) for pair in dimension_numbers)
    unbatched = not lb and not rb
    if not lb:  # a trailing batch axis of size 1, squeezed off the result below
        lhs, lb = jnp.expand_dims(lhs, lhs.ndim), (lhs.ndim,)
    if not rb:
        rhs, rb = jnp.expand_dims(rhs, rhs.ndim), (rhs.ndim,)
    out = _make_scaled_dot(((lc, rc), (lb, rb)), preferred, configs)(lhs, rhs)
    return jnp.squeeze(out, axis=0) if unbatched else out
