"""`irax.nn`: common neural-network functions, as `jax.nn`.

All are compositions of `irax.numpy` functions written as JAX writes them
(so dtypes and weak types come out as JAX's), except `one_hot`, which is one
primitive (a comparison with the loop index). Where JAX gives a function a
custom derivative (relu and relu6: 0 at their kinks), the composition here
is arranged to differentiate to the same rule. The functions JAX jits are
jitted here too (their static arguments as JAX's): an eager call is one
program, where op by op it was a kernel each (softplus of 64 x 64 floats:
11 us a call against 107); traced, they are inlined.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.jit import jit
from irax.frontend.lax import stop_gradient
from irax.frontend.numpy.util import asarray, canonicalize_axes, canonicalize_axis, check_arraylike
from irax.frontend.numpy.util import promote_args_inexact
from irax.frontend.primitives.one_hot import one_hot as one_hot_p
from irax.nn import initializers
from irax.nn.scaled_matmul import get_scaled_dot_general_config, scaled_dot_general, scaled_matmul
from irax.scipy.special import log_softmax_where, logsumexp, softmax_where
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def _array(name, x):
    check_arraylike(name, x)
    return asarray(x)


@jit
def identity(x: ArrayLike) -> Array:
    """x itself."""
    return _array("identity", x)


tanh = jnp.tanh


@jit
def relu(x: ArrayLike) -> Array:
    """max(x, 0); its derivative is 0 at x = 0, as in JAX (a maximum's would be 1/2)."""
    x = _array("relu", x)
    return jnp.where(x > 0, x, stop_gradient(jnp.maximum(x, 0)))


@jit
def relu6(x: ArrayLike) -> Array:
    """min(max(x, 0), 6); derivative 1 strictly inside (0, 6), else 0, as in JAX."""
    x = _array("relu6", x)
    clipped = jnp.minimum(jnp.maximum(x, 0), 6.0)
    return jnp.where((x > 0) & (x < 6), clipped, stop_gradient(clipped))


@functools.partial(jit, inline=True)
def sigmoid(x: ArrayLike) -> Array:
    """1 / (1 + exp(-x)): exact in both tails (exp(-x) overflows to inf,
    giving 0, rather than losing the small values as 1 - ... would); complex
    x too, as JAX."""
    return lax.logistic(_array("sigmoid", x))


@jit
def softplus(x: ArrayLike) -> Array:
    """log(1 + exp(x)) = logaddexp(x, 0): max(x, 0) + log1p(exp(-|x|)), so
    that neither tail overflows, with logaddexp's derivative sigmoid(x) (the
    pieces' derivatives gave 0 at x = 0, not 1/2). Promoted with the 0, as
    logaddexp does."""
    return jnp.logaddexp(x, 0)


@jit
def squareplus(x: ArrayLike, b: ArrayLike = 4) -> Array:
    """(x + sqrt(x^2 + b)) / 2."""
    x, b = _array("squareplus", x), _array("squareplus", b)
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


@jit
def sparse_plus(x: ArrayLike) -> Array:
    """0 below -1, x above 1, (x + 1)^2 / 4 between."""
    x = _array("sparse_plus", x)
    return jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


@jit
def soft_sign(x: ArrayLike) -> Array:
    """x / (|x| + 1)."""
    x = _array("soft_sign", x)
    return x / (jnp.abs(x) + 1)


@jit
def sparse_sigmoid(x: ArrayLike) -> Array:
    """clip(x + 1, 0, 2) / 2."""
    x = _array("sparse_sigmoid", x)  # (a NumPy x + 1.0 is NumPy's sum: bfloat16 + float is its float32)
    return 0.5 * jnp.clip(x + 1.0, 0.0, 2.0)


@jit
def silu(x: ArrayLike) -> Array:
    """x sigmoid(x)."""
    x = _array("silu", x)
    return x * sigmoid(x)


swish = silu


@jit
def mish(x: ArrayLike) -> Array:
    """x tanh(softplus(x))."""
    x = _array("mish", x)
    return x * jnp.tanh(softplus(x))


@jit
def log_sigmoid(x: ArrayLike) -> Array:
    """log(sigmoid(x)) = -softplus(-x)."""
    x = _array("log_sigmoid", x)
    return -softplus(-x)


@jit
def elu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    """x above 0, alpha (exp(x) - 1) below (exp of 0 there, so no overflow or NaN gradient)."""
    x = _array("elu", x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0.0, x)))


@jit
def leaky_relu(x: ArrayLike, negative_slope: ArrayLike = 1e-2) -> Array:
    """x where x >= 0, negative_slope x below."""
    x = _array("leaky_relu", x)
    return jnp.where(x >= 0, x, negative_slope * x)


@jit
def hard_tanh(x: ArrayLike) -> Array:
    """x clipped to [-1, 1]."""
    x = _array("hard_tanh", x)
    return jnp.where(x > 1, 1, jnp.where(x < -1, -1, x))


@jit
def celu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    """max(x, 0) + alpha expm1(min(x, 0) / alpha)."""
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@jit
def selu(x: ArrayLike) -> Array:
    """scale elu(x, alpha) with the self-normalizing constants."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


@jit
def hard_sigmoid(x: ArrayLike) -> Array:
    """relu6(x + 3) / 6."""
    x = _array("hard_sigmoid", x)
    return relu6(x + 3.0) / 6.0


@jit
def hard_silu(x: ArrayLike) -> Array:
    """x hard_sigmoid(x)."""
    x = _array("hard_silu", x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu

_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))  # Python floats: weak, they keep x's dtype
_SQRT_HALF = float(np.sqrt(0.5))


@functools.partial(jit, static_argnames="approximate")
def gelu(x: ArrayLike, approximate: bool = True) -> Array:
    """x * Phi(x), Phi the standard normal CDF; with `approximate` (the
    default, as in jax.nn.gelu) the tanh form

        x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))

    else the exact x/2 * erfc(-x / sqrt(2))."""
    (x,) = promote_args_inexact("gelu", x)
    half_x = x * jnp.asarray(0.5, x.dtype)  # a strong constant: the result is strong, as in JAX
    if approximate:
        cubic = x * jnp.square(x)  # x**3 as two multiplies (cheaper than pow)
        return half_x * (1 + jnp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * cubic)))
    return half_x * lax.erfc(-x * _SQRT_HALF)


@functools.partial(jit, static_argnames="axis")
def glu(x: ArrayLike, axis: int = -1) -> Array:
    """a sigmoid(b), x split in halves a, b along `axis`."""
    x = _array("glu", x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got {x.shape[axis]}")
    a, b = jnp.split(x, 2, axis)
    return a * sigmoid(b)


@jit
def log1mexp(x: ArrayLike) -> Array:
    """log(1 - exp(-x)) for x > 0, by log(-expm1(-x)) below log 2 and
    log1p(-exp(-x)) above; derivative JAX's rule 1 / expm1(x) (the
    composition's gave NaN at 0 and for x < 0, where JAX's is inf and -1).
    Integers are promoted first, as expm1 promotes them in JAX's."""
    (x,) = promote_args_inexact("log1mexp", x)
    return _log1mexp(x)


@custom_jvp
def _log1mexp(x):
    return jnp.where(x < np.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


_log1mexp.defjvps(lambda g, ans, x: g / jnp.expm1(x))


def _where_sum(x, axes, where, keepdims=True):
    return jnp.sum(x if where is None else jnp.where(where, x, 0), axes, keepdims=keepdims)


@functools.partial(jit, static_argnames=("axis", "keepdims"))
def logmeanexp(x: ArrayLike, axis: Axis = None, where: ArrayLike | None = None, keepdims: bool = False) -> Array:
    """logsumexp(x) - log(n), n the number of entries (where `where` is true)."""
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    x = asarray(x)
    axes = canonicalize_axes("logmeanexp", axis, x.ndim)
    ones = jnp.ones(x.shape, lse.dtype)
    return lse - jnp.log(_where_sum(ones, axes, where, keepdims))


@functools.partial(jit, static_argnames="axis")
def softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    """exp(x) / sum(exp(x)) over `axis`, computed on x - max(x) so nothing
    overflows; over the entries where `where` is true, 0 elsewhere."""
    return softmax_where(x, axis, where)


@functools.partial(jit, static_argnames="axis")
def log_softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    """x - logsumexp(x) over `axis`, computed on x - max(x); -inf outside `where`."""
    return log_softmax_where(x, axis, where)


@functools.partial(jit, static_argnames=("axis", "algorithm"))
def standardize(x: ArrayLike, axis: Axis = -1, mean: ArrayLike | None = None, variance: ArrayLike | None = None,
                epsilon: ArrayLike = 1e-5, where: ArrayLike | None = None, *, algorithm: str = "fast") -> Array:
    """(x - mean) / sqrt(variance + epsilon) over `axis` (entries where `where`
    is true). The "fast" variance is mean(x^2) - mean^2, clipped at 0; the
    "stable" one mean((x - mean)^2)."""
    x = _array("standardize", x)
    axes = canonicalize_axes("standardize", axis, x.ndim)

    def average(v):
        if where is None:
            return jnp.mean(v, axes, keepdims=True)
        return _where_sum(v, axes, where) / _where_sum(jnp.ones(v.shape, v.dtype), axes, where)

    if mean is None:
        mean = average(x)
    if variance is None:
        if algorithm == "stable":
            variance = average(jnp.square(x - mean))
        elif algorithm == "fast":
            variance = jnp.clip(average(jnp.square(x)) - jnp.square(mean), 0)
        else:
            raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return (x - mean) * jnp.reciprocal(jnp.sqrt(variance + epsilon))


def one_hot(x: ArrayLike, num_classes: int, *, dtype: DTypeLike | None = None, axis: int = -1) -> Array:
    """out[..., c, ...] = (x[...] == c) at a new axis `axis` of length
    `num_classes`; indices outside [0, num_classes) give all zeros.
    `num_classes` is an int, as JAX's operator.index asks (3.0 is its TypeError)."""
    num_classes = operator.index(num_classes)
    x = _array("one_hot", x)
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    axis = canonicalize_axis("one_hot", axis, x.ndim + 1)
    return one_hot_p.bind(x, num_classes=num_classes, axis=axis, dtype=dtype)


# ---------------------------------------------------------------------------
# Attention

def _ensure_4d(t):
    t = asarray(t)
    return jnp.reshape(t, (1,) * (4 - t.ndim) + t.shape) if t.ndim < 4 else t


def _check_shape_and_dtype(t, shape, dtype, name):
    if t is None:
        return
    if t.ndim != len(shape):
        raise ValueError(f"{name} ndim should be {len(shape)}, but got {t.ndim}")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"{name} dtype should be {dtype}, but got {t.dtype}")
    if any(want != -1 and got != want for got, want in zip(t.shape, shape)):
        raise ValueError(f"{name} shape should be {shape}: but got {t.shape}")


def _grouped(t, num_heads, kv_heads):
    """A bias or mask (B', N or 1, T, S) as (B', K or 1, G or 1, T, S): query
    head n = k G + g uses key/value head k."""
    b, n, rows, cols = t.shape
    if n == 1:
        return jnp.reshape(t, (b, 1, 1, rows, cols))
    if n != num_heads:
        raise ValueError(f"bias and mask must have 1 or {num_heads} heads, got {n}")
    return jnp.reshape(t, (b, kv_heads, num_heads // kv_heads, rows, cols))


def dot_product_attention(query: ArrayLike, key: ArrayLike, value: ArrayLike, bias: ArrayLike | None = None,
                          mask: ArrayLike | None = None, *, scale: float | None = None, is_causal: bool = False,
                          query_seq_lengths: ArrayLike | None = None,
                          key_value_seq_lengths: ArrayLike | None = None,
                          local_window_size: int | tuple[int, int] | None = None,
                          implementation: str | None = None,
                          return_residual: bool = False) -> Array | tuple[Array, Array]:
    """Scaled dot-product attention, as jax.nn.dot_product_attention (its
    'xla' implementation): with query (B, T, N, H), key and value (B, S, K, H),

        logits[b, n, t, s] = scale <query[b, t, n], key[b, s, k]> + bias[b, n, t, s]
        out[b, t, n]       = sum_s softmax_s(logits)[b, n, t, s] value[b, s, k]

    where query head n reads key/value head k = n // (N / K) (grouped-query
    attention), scale defaults to 1/sqrt(H), and the logits are replaced by a
    large negative number where `mask` is False, above the diagonal
    (`is_causal`), outside `local_window_size` = (left, right) of the
    diagonal or past a sequence's length. The softmax runs in float32.
    Rank-3 inputs (no batch axis) work too."""
    if implementation not in (None, "xla"):
        raise ValueError(f"Unsupported implementation option: {implementation}"
                         + (" (irax has only the 'xla' one)" if implementation == "cudnn" else ""))
    output_shape = asarray(query).shape
    q, k, v = _ensure_4d(query), _ensure_4d(key), _ensure_4d(value)
    bias = None if bias is None else _ensure_4d(bias)
    mask = None if mask is None else _ensure_4d(mask)
    q_len = None if query_seq_lengths is None else asarray(query_seq_lengths)
    kv_len = None if key_value_seq_lengths is None else asarray(key_value_seq_lengths)
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    B, S, K, H = k.shape
    _check_shape_and_dtype(v, [B, S, K, H], k.dtype, "value")
    _check_shape_and_dtype(q, [B, -1, -1, H], k.dtype, "query")
    _check_shape_and_dtype(mask, [-1] * 4, np.dtype(bool), "mask")
    _check_shape_and_dtype(bias, [-1] * 4, None, "bias")
    _check_shape_and_dtype(q_len, [B], np.dtype(np.int32), "query_seq_lengths")
    _check_shape_and_dtype(kv_len, [B], np.dtype(np.int32), "key_value_seq_lengths")
    T, N = q.shape[1], q.shape[2]
    if N % K:
        raise ValueError(f"The number of query heads must be a multiple of key/value heads, but got {N} vs {K}")
    G = N // K
    logits_dtype = dtypes.promote_types(q.dtype, np.float32)
    grouped_q = jnp.reshape(q, (B, T, K, G, H)).astype(logits_dtype)
    logits = jnp.einsum("btkgh,bskh->bkgts", grouped_q, k.astype(logits_dtype))
    logits = logits * jnp.asarray((1.0 / np.sqrt(H)) if scale is None else scale, logits_dtype)
    if bias is not None:
        logits = (logits + _grouped(bias, N, K)).astype(logits_dtype)
    keep = _attention_mask(mask, N, K, T, S, is_causal, local_window_size, q_len, kv_len)
    if keep is not None:
        large_negative = -0.7 * float(np.finfo(np.float32).max if logits_dtype == np.float64 else
                                      jnp.finfo(logits_dtype).max)
        logits = jnp.where(keep, logits, jnp.asarray(large_negative, logits_dtype))
    logits = logits.astype(np.float32)
    probs = softmax(logits, axis=-1).astype(k.dtype)
    encoded = jnp.einsum("bkgts,bskh->btkgh", probs, v)
    encoded = jnp.reshape(encoded, (B, T, N, H))
    if q_len is not None:
        encoded = encoded * (jnp.arange(T)[None, :] < q_len[:, None])[:, :, None, None].astype(encoded.dtype)
    if return_residual:
        residual = logsumexp(logits, axis=-1).astype(k.dtype)  # (B, K, G, T)
        residual = jnp.reshape(jnp.transpose(residual, (0, 3, 1, 2)), output_shape[:-1])
        return jnp.reshape(encoded, output_shape), stop_gradient(residual)
    return jnp.reshape(encoded, output_shape)


def _attention_mask(mask, N, K, T, S, is_causal, local_window_size, q_len, kv_len):
    """Where the logits (B, K, G, T, S) are kept, or None for everywhere."""
    keep = None

    def both(a, b):
        return b if a is None else jnp.logical_and(a, b)

    if mask is not None:
        keep = both(keep, _grouped(mask, N, K))
    rows, cols = jnp.arange(T)[:, None], jnp.arange(S)[None, :]
    if is_causal:
        keep = both(keep, rows >= cols)
    if local_window_size is not None:
        left, right = local_window_size
        keep = both(keep, (rows <= cols + left) & (rows >= cols - right))
    if q_len is not None:
        keep = both(keep, (jnp.arange(T)[None, :, None] < q_len[:, None, None])[:, None, None])
    if kv_len is not None:
        keep = both(keep, (jnp.arange(S)[None, None, :] < kv_len[:, None, None])[:, None, None])
    return keep


__all__ = ["celu", "dot_product_attention", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish",
           "hard_tanh", "identity", "leaky_relu", "log1mexp", "log_sigmoid", "log_softmax", "logmeanexp",
           "logsumexp", "mish", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "soft_sign", "softmax",
           "softplus", "sparse_plus", "sparse_sigmoid", "squareplus", "standardize", "swish", "tanh",
           "get_scaled_dot_general_config", "scaled_dot_general", "scaled_matmul"]
