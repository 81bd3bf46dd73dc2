"""The 8- and 4-bit floats (float8_e4m3fn ... float4_e2m1fn) and the block-scaled
products built on them (irax.nn.scaled_matmul, scaled_dot_general).

ml_dtypes is the oracle for conversions (bit for bit, every bit pattern);
JAX for promotion, printing and arithmetic. JAX computes scaled_matmul only
through cuDNN (no CPU lowering), so its oracle here is its own definition:
JAX's `quantize`, then the dequantized float32 einsum its docstring gives.
"""
import ml_dtypes
import numpy as np
import pytest

import irax
import irax.nn as inn
import irax.numpy as jnp
from irax.nn.scaled_matmul import quantize

NAMES = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4",
         "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn"]


def _codes(name):
    """All bit patterns of the format (16 for float4)."""
    return np.arange(16 if name.startswith("float4") else 256, dtype=np.uint8).view(getattr(ml_dtypes, name))


def _float32_cases(name):
    """Every value of the format, the midpoints between neighbours (ties), just
    beside them, specials, and random float32 of all magnitudes: one length for
    all formats, so the test programs have one shape."""
    values = np.unique(_codes(name).astype(np.float32))
    values = values[~np.isnan(values)]
    mid = (values[:-1] + values[1:]) / 2
    specials = np.float32([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1e-40, -1e-40, 3e38, -3e38, 2.0 ** -127,
                           2.0 ** -128, 1.5 * 2.0 ** -127])
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(2000).astype(np.float32) * np.float32(2.0) ** rng.integers(-40, 40, 2000)
    cases = np.concatenate([values, -values, mid, np.nextafter(mid, np.float32(np.inf)),
                            np.nextafter(mid, np.float32(-np.inf)), specials, noise]).astype(np.float32)
    return np.resize(cases, 3072)


@pytest.mark.parametrize("name", NAMES)
def test_astype_to_float32_is_bit_exact_for_every_bit_pattern(name):
    codes = _codes(name)
    got = np.asarray(jnp.asarray(codes).astype(jnp.float32))
    np.testing.assert_array_equal(got.view(np.uint32), codes.astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("name", NAMES)
def test_astype_from_float32_is_bit_exact(name):
    """Rounding to nearest even, overflow to inf, NaN or the largest value, NaN
    codes, no -0 in the fnuz formats: all as ml_dtypes casts."""
    x = _float32_cases(name)
    got = np.asarray(jnp.asarray(x).astype(getattr(jnp, name)))
    np.testing.assert_array_equal(got.view(np.uint8), x.astype(getattr(ml_dtypes, name)).view(np.uint8))


def test_creation_and_structural_ops_keep_the_bits():
    x = jnp.asarray(np.array([1.5, -2, 448, np.nan], ml_dtypes.float8_e4m3fn))
    assert x.dtype == jnp.float8_e4m3fn and jnp.issubdtype(x.dtype, jnp.floating)
    assert repr(jnp.float8_e5m2(3.3)) == "Array(3.5, dtype=float8_e5m2)"
    np.testing.assert_array_equal(np.asarray(jnp.zeros(2, jnp.float8_e4m3fn)).view(np.uint8), [0, 0])
    both = jnp.concatenate([x, x[::-1]]).reshape(2, 4).T
    want = np.concatenate([np.asarray(x), np.asarray(x)[::-1]]).reshape(2, 4).T
    np.testing.assert_array_equal(np.asarray(both).view(np.uint8), want.view(np.uint8))


def test_promotion_matches_jax():
    jax_numpy = pytest.importorskip("jax.numpy")
    others = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "bfloat16", "float16", "float32", "int8", "uint8",
              "int32", "bool", int, float]
    for a in ("float8_e4m3fn", "float8_e8m0fnu", "float4_e2m1fn"):
        for b in others:
            try:
                want = jax_numpy.promote_types(a, b)
            except Exception as e:  # noqa: BLE001 (JAX's TypePromotionError, a ValueError)
                with pytest.raises(ValueError, match="no available implicit dtype promotion path"):
                    jnp.promote_types(a, b)
                assert type(e).__name__ == "TypePromotionError"
                continue
            assert jnp.promote_types(a, b) == want, (a, b)
    x = jnp.ones(2, jnp.float8_e4m3fn)
    assert (x + 1.0).dtype == (x * 2).dtype == (x + jnp.ones(2, jnp.int8)).dtype == jnp.float8_e4m3fn
    with pytest.raises(irax.dtypes.TypePromotionError):
        x + jnp.ones(2, jnp.float32)


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn"])
def test_printing_matches_jax(name):
    jax_numpy = pytest.importorskip("jax.numpy")
    values = [0.3, -1.5, 448, float("nan"), float("inf"), 0.0, 2.0, 1e-3]
    want = repr(jax_numpy.array(values, jax_numpy.float32).astype(getattr(jax_numpy, name)))
    assert repr(jnp.array(values, jnp.float32).astype(getattr(jnp, name))) == want


def test_arithmetic_rounds_float32_results_as_jax():
    """Elementwise ops compute in float32 and round once; reductions and dots
    fold in float32 (9 = 3 * 3 is no float8_e5m2, 0 + 1 + 4 + 9 = 14 is)."""
    jax_numpy = pytest.importorskip("jax.numpy")
    values = np.array([0, 1, 2, 3, -1.25, 0.3], np.float32)
    x, y = jnp.asarray(values).astype(jnp.float8_e5m2), jax_numpy.asarray(values).astype(jax_numpy.float8_e5m2)
    for f in (lambda a: a * a, lambda a: a + 1.0, lambda a: -a / 3, lambda a: a < 1):
        np.testing.assert_array_equal(np.asarray(f(x)), np.asarray(f(y)))
    np.testing.assert_array_equal(np.asarray(jnp.exp(x)), np.asarray(jax_numpy.exp(y)))
    for name in ("max", "min", "sum", "cumsum", "argmax", "argmin"):  # folded in float32: i8 bits order nothing
        np.testing.assert_array_equal(np.asarray(getattr(jnp, name)(x)), np.asarray(getattr(jax_numpy, name)(y)))
    assert float(jnp.dot(x[:4], x[:4])) == float(jax_numpy.dot(y[:4], y[:4])) == 14


# ---------------------------------------------------------------------------
# Block-scaled products

def _jax_oracle():
    jax = pytest.importorskip("jax")
    return jax, pytest.importorskip("jax._src.cudnn.scaled_matmul_stablehlo")


def _reference_matmul(jax):
    """scaled_matmul's documented definition, in JAX."""
    def deq(x, s):
        return x.astype(np.float32) * jax.numpy.repeat(s.astype(np.float32), x.shape[-1] // s.shape[-1], axis=-1)

    def matmul(a, b, a_scales, b_scales, preferred_element_type=np.float32):
        return jax.numpy.einsum("bmk,bnk->bmn", deq(a, a_scales), deq(b, b_scales),
                                precision="highest").astype(preferred_element_type)

    return matmul


def _configs(jax, cudnn, mode):
    """(irax config, JAX config) for `mode`."""
    theirs = jax.nn.get_scaled_dot_general_config(mode)
    return inn.get_scaled_dot_general_config(mode), cudnn.BlockScaleConfig(
        **{f: getattr(theirs, f) for f in ("mode", "block_size", "data_type", "scale_type", "global_scale",
                                           "infer_only")})


_RNG = np.random.default_rng(1)
_LHS, _RHS = (_RNG.standard_normal((2, 32, 64)).astype(np.float32) for _ in range(2))
_DN = (((2,), (2,)), ((0,), (0,)))


def test_scaled_matmul_docstring_example():
    a = jnp.array([1, 2, 3.0]).reshape((1, 1, 3))
    b = jnp.array([4, 5, 6.0]).reshape((1, 1, 3))
    s = jnp.array([0.5]).reshape((1, 1, 1))
    out = inn.scaled_matmul(a, b, s, s)
    assert out.dtype == np.float32 and np.asarray(out).tolist() == [[[8.0]]]
    with pytest.raises(ValueError, match="3-dimensional"):
        inn.scaled_matmul(a[0], b, s, s)
    with pytest.raises(ValueError, match="Unsupported mode"):
        inn.get_scaled_dot_general_config("fp8")


@pytest.mark.parametrize("mode", ["mxfp8", "nvfp4"])
def test_quantize_and_scaled_matmul_match_jax(mode):
    jax, cudnn = _jax_oracle()
    ours, theirs = _configs(jax, cudnn, mode)
    (a_q, a_s), (b_q, b_s) = (cudnn.quantize(jax.numpy.asarray(x), theirs) for x in (_LHS, _RHS))
    got_q, got_s = quantize(jnp.asarray(_LHS), ours)
    assert (got_q.dtype, got_s.dtype) == (a_q.dtype, a_s.dtype)
    np.testing.assert_array_equal(np.asarray(got_q).view(np.uint8), np.asarray(a_q).view(np.uint8))
    np.testing.assert_array_equal(np.asarray(got_s).view(np.uint8), np.asarray(a_s).view(np.uint8))
    got = inn.scaled_matmul(*(jnp.asarray(np.asarray(t)) for t in (a_q, b_q, a_s, b_s)))
    np.testing.assert_allclose(np.asarray(got), np.asarray(_reference_matmul(jax)(a_q, b_q, a_s, b_s)), rtol=1e-6,
                               atol=1e-5)


@pytest.mark.parametrize("mode", ["mxfp8", "nvfp4"])
def test_scaled_dot_general_and_its_gradient_match_jax(mode, monkeypatch):
    """The gradient is JAX's custom VJP (block-scaled cotangent products, a
    straight-through estimator of quantization), not the derivative of the
    quantized forward, so JAX's rule is the oracle, not finite differences."""
    jax, cudnn = _jax_oracle()
    ours, theirs = _configs(jax, cudnn, mode)
    monkeypatch.setattr(cudnn, "scaled_matmul_wrapper", _reference_matmul(jax))  # JAX's needs cuDNN

    def jax_loss(x, y):
        return jax.numpy.sum(jax.numpy.sin(cudnn.scaled_dot_general_wrapper(x, y, _DN, configs=[theirs] * 3)))

    def loss(x, y):
        return jnp.sum(jnp.sin(inn.scaled_dot_general(x, y, _DN, configs=[ours] * 3)))

    want = cudnn.scaled_dot_general_wrapper(jax.numpy.asarray(_LHS), jax.numpy.asarray(_RHS), _DN,
                                            configs=[theirs] * 3)
    np.testing.assert_allclose(np.asarray(inn.scaled_dot_general(_LHS, _RHS, _DN, configs=[ours] * 3)),
                               np.asarray(want), rtol=1e-6, atol=1e-5)
    want_grads = jax.grad(jax_loss, argnums=(0, 1))(_LHS, _RHS)
    for got, want in zip(irax.grad(loss, argnums=(0, 1))(jnp.asarray(_LHS), jnp.asarray(_RHS)), want_grads):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_scaled_dot_general_without_configs_is_dot_general():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    got = inn.scaled_dot_general(x, x, (((1,), (1,)), ((), ())))
    np.testing.assert_allclose(np.asarray(got), x @ x.T)


def test_gradient_through_a_float8_conversion_is_an_error_not_zero():
    """The AD passes see float8 values as their bits: a gradient through a
    conversion came out 0 (JAX: 2) until it raised."""
    x = np.array([0.3, 1.7, -2.2], np.float32)
    f = lambda x: jnp.sum((x.astype(jnp.float8_e5m2) * 2).astype(jnp.float32))  # noqa: E731
    for transform in (irax.grad(f), irax.jit(irax.grad(f)), lambda x: irax.jvp(f, (x,), (x,))):
        with pytest.raises(NotImplementedError, match="8- or 4-bit float"):
            transform(x)
