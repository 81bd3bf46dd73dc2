"""Cases where tiered jit's first tier (the NumPy evaluator, irax/ir/evaluate.py)
gave other values than the compiled program of the same module, found by
fuzzing both tiers with special values: each test runs one packed program's
first call evaluated (its background compile held at a gate), then its
compiled program, and wants them bit for bit equal.
"""
import threading

import numpy as np
import pytest
from helpers import x64_mode

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.config import config
from irax.frontend import tiered

jax = pytest.importorskip("jax")


@pytest.fixture
def both_tiers(monkeypatch, tmp_path):
    """first_and_compiled(f, *args): jit(f)'s first call, evaluated while its
    compile waits at a gate (from an empty cache), then its compiled call."""
    monkeypatch.setattr(config, "irax_tiered_jit", True)
    monkeypatch.setattr(config, "irax_disable_cache", False)
    monkeypatch.setattr(config, "irax_cache_dir", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", cache.LRU())
    gate, evaluated = threading.Event(), []
    evaluate, compile_ = tiered.FirstTier.evaluate, cache.cached_compile

    def counted_evaluate(first, buffers):
        out = evaluate(first, buffers)
        evaluated.append(1)
        return out

    def gated_compile(*args, **kwargs):
        if threading.current_thread().name == "irax-tiered-jit":
            assert gate.wait(120), "the background compile was never let go"
        return compile_(*args, **kwargs)

    monkeypatch.setattr(tiered.FirstTier, "evaluate", counted_evaluate)
    monkeypatch.setattr(cache, "cached_compile", gated_compile)

    def first_and_compiled(f, *args):
        jf = irax.jit(f)
        gate.clear()
        first = [np.asarray(y) for y in jf(*args)]
        assert evaluated, "the first call was not evaluated"
        gate.set()
        tiered.wait()
        return first, [np.asarray(y) for y in jf(*args)]

    yield first_and_compiled
    gate.set()
    tiered.wait()


def assert_same_bits(first, compiled):
    for k, (a, b) in enumerate(zip(first, compiled)):
        assert a.dtype == b.dtype and a.shape == b.shape, k
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8), err_msg=f"result {k}")


X = np.array([1e-45, -1e-45, 1e-39, 1.0, 3.0, 0.0, -2.0, 0.25, 2.5e-38, np.inf], np.float32)
Y = np.array([1e-39, 1e-45, 1.0, 1e-39, 1.1e-38, -1e-45, 1.5e-38, 0.5, 1.0, 2.0], np.float32)


def subnormal_reads(x, y):
    return (jnp.fmod(x, y), jnp.remainder(x, y), jnp.expm1(x), jnp.log1p(x), jnp.where(x < y, x, y),
            jnp.where(x > y, x, y), jnp.where(x < y, y, x), jnp.where(x <= y, x, y), jnp.where(x < 0.5, x, 0.5),
            jnp.where(x[:, None] > y[:4], x[:, None], y[:4]))


def test_subnormals_are_read_as_the_compiled_ops_read_them(both_tiers):
    """Not every float op of the compiled program reads a subnormal as 0.
    libm's fmodf (arith.remf) reads its bits: fmod(1.0, 1e-39) is 0, where
    the first tier's fmod(1.0, 0) was NaN; expm1 and log1p of a tiny x
    return x itself (the first tier: 0). And LLVM makes `x < y ? x : y`
    (either strict order, either pair, broadcast or not) x86's min or max
    instruction, which reads subnormals as 0 (a select moves bits: the first
    tier kept them; `x <= y ? x : y` is no min and keeps them on both)."""
    first, compiled = both_tiers(subnormal_reads, X, Y)
    exact = [0, 1, 4, 5, 6, 7, 8, 9]  # (expm1 and log1p of 1 and 3: NumPy's and IREE's approximations differ)
    assert_same_bits([first[k] for k in exact], [compiled[k] for k in exact])
    assert_same_bits([y[:3] for y in first[2:4]], [y[:3] for y in compiled[2:4]])
    fmod, _, expm1, log1p, minimum, maximum, _, at_most, clipped, outer = first
    assert not np.isnan(fmod[:6]).any() and (fmod[:6] == 0).all()
    np.testing.assert_array_equal(expm1[:3].view(np.int32), X[:3].view(np.int32))
    np.testing.assert_array_equal(log1p[:3].view(np.int32), X[:3].view(np.int32))
    np.testing.assert_allclose(expm1[3:], compiled[2][3:], rtol=1e-6)
    assert (minimum[:2] == 0).all() and (maximum[:2] == 0).all() and (clipped[:3] == 0).all()
    assert at_most[0] == X[0]  # (a select: the bits moved)
    assert outer[0, 1] == 0 and outer[2, 0] == 0  # (max(1e-45, 1e-45), max(1e-39, 1e-39))


def test_a_fused_multiply_add_rounds_once_off_a_tie(both_tiers):
    """x * 3 of a float32 near 1e30 can be a tie of float32 (3x needs 26
    bits), and x * 3 + 1, fused as LLVM fuses it, rounds the exact sum,
    just off the tie, once. The first tier rounded the float64 sum to
    float32, where the + 1 is lost: to even, one ulp from the compiled
    program (and JAX) in 3 of these 4."""
    x = np.array([-1e30, 1e30, -1e30, 3.3e29], np.float32)
    f = lambda x: (x * 3 + 1, 1 - x * 5)  # noqa: E731
    first, compiled = both_tiers(f, x)
    assert_same_bits(first, compiled)
    for ours, want in zip(first, jax.jit(f)(x)):
        np.testing.assert_array_equal(ours, np.asarray(want))


def test_float64_multiply_adds_are_fused_as_llvm_fuses_them(both_tiers):
    """LLVM fuses float64's a * b + c too (float64 polynomials, x * 3 + 1):
    unfused, the first tier was up to 4 ulp from the compiled program where
    the sum cancels (x * 3 + 1 of -0.49999997), 1 ulp in 12 of 71 special
    values of 2.5 * x - x; and 64-bit random normals (irax's float64 erfinv
    is a polynomial) 1-3 ulp from the compiled ones in 5-10% of them. The
    product is now held with its error (Dekker), and -0 * 1 + -0 stays -0."""
    with x64_mode(True):
        x = np.array([-0.49999997, 0.1, 1.5, -1e30, 0.7853981, -0.0, 3.0, 1e-3], np.float64)
        f = lambda x, y: (x * 3 + 1, 2.5 * x - x, x * y + y * x, 1 - x * 0.1)  # noqa: E731
        first, compiled = both_tiers(f, x, x[::-1].copy())
        assert_same_bits(first, compiled)
        first, compiled = both_tiers(lambda k: (irax.random.normal(k, (64,)),), irax.random.PRNGKey(0))
        assert first[0].dtype == np.float64
        assert_same_bits(first, compiled)


def test_frexp_of_a_subnormal_is_numpy_s_on_both_tiers(both_tiers):
    """frexp(1e-39) is (0.68, -129), NumPy's: the compiled program gave
    (0.5, -149) for every subnormal (its x * 2^23 read x as 0; JAX's too)
    and the first tier (x, 0) (its x == 0 read x as 0). Now on the bits."""
    x = np.array([1e-39, -1e-39, 1e-45, -1e-45, 1.17549e-38, 0.0, -0.0, np.inf, -np.inf, np.nan, 3.0, -0.75],
                 np.float32)
    first, compiled = both_tiers(jnp.frexp, x)
    assert_same_bits(first, compiled)
    for ours, numpy_s in zip(first, np.frexp(x)):
        np.testing.assert_array_equal(ours.view(np.uint8), numpy_s.view(np.uint8))
