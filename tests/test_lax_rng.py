"""irax.lax.rng_bit_generator and RandomAlgorithm against jax.lax's, bit for
bit: both algorithms and the default, uint8/16/32/64, the new key, keys whose
counter carries, jit, vmap, grad, and JAX's errors.

Shapes are few and shared (each shape, dtype and algorithm is one program):
(5,) for the dtypes, (), (2, 3), (7,) and (3, 5) in uint32 for XLA's layouts
(ThreeFry halves the first even dimension, else the largest)."""
import warnings

import numpy as np
import pytest

import irax
from irax import lax
from tests.helpers import x64_mode

jax = pytest.importorskip("jax")

KEY = np.array([1, 2, 3, 4], np.uint32)
CARRYING = np.array([7, 9, 0xFFFFFFFE, 0xFFFFFFFF], np.uint32)  # the counter wraps within a draw of 7
ALGORITHMS = ["RNG_DEFAULT", "RNG_THREE_FRY", "RNG_PHILOX"]
CASES = [((), np.uint32), ((5,), np.uint8), ((5,), np.uint16), ((5,), np.uint32), ((2, 3), np.uint32),
         ((7,), np.uint32), ((3, 5), np.uint32)]


def _same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("shape,dtype", CASES)
def test_bits_and_new_key_are_jax(algorithm, shape, dtype):
    ours = lax.rng_bit_generator(KEY, shape, dtype, getattr(lax.RandomAlgorithm, algorithm))
    _same(ours, jax.lax.rng_bit_generator(KEY, shape, dtype, getattr(jax.lax.RandomAlgorithm, algorithm)))


@pytest.mark.parametrize("algorithm", ["RNG_THREE_FRY", "RNG_PHILOX"])
def test_counter_carries_as_jax(algorithm):
    # ThreeFry's counter and Philox's 128-bit one carry across words; the key keeps the low 64 bits
    ours = lax.rng_bit_generator(CARRYING, (7,), np.uint32, getattr(lax.RandomAlgorithm, algorithm))
    _same(ours, jax.lax.rng_bit_generator(CARRYING, (7,), np.uint32, getattr(jax.lax.RandomAlgorithm, algorithm)))


@pytest.mark.parametrize("algorithm", ["RNG_THREE_FRY", "RNG_PHILOX"])
def test_uint64_bits_and_uint64_key_as_jax(algorithm):
    with x64_mode(True):
        ours, theirs = getattr(lax.RandomAlgorithm, algorithm), getattr(jax.lax.RandomAlgorithm, algorithm)
        _same(lax.rng_bit_generator(CARRYING, (5,), np.uint64, ours),
              jax.lax.rng_bit_generator(CARRYING, (5,), np.uint64, theirs))
        key64 = np.array([1 | 2 << 32, 0xFFFFFFFF | 4 << 32], np.uint64)  # XLA's own u64[2] state
        _same(lax.rng_bit_generator(key64, (5,), np.uint32, ours),
              jax.lax.rng_bit_generator(key64, (5,), np.uint32, theirs))


def test_uint64_without_x64_warns_and_gives_uint32():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, bits = lax.rng_bit_generator(KEY, (5,), np.uint64)
    assert bits.dtype == np.uint32
    assert any("requested dtype uint64 requested in rng_bit_generator" in str(w.message) for w in caught)
    np.testing.assert_array_equal(bits, jax.lax.rng_bit_generator(KEY, (5,), np.uint32)[1])


def test_under_jit_and_grad():
    draw = irax.jit(lambda k: lax.rng_bit_generator(k, (5,)))
    _same(draw(KEY), jax.lax.rng_bit_generator(KEY, (5,)))

    def f(lax_, x):  # the bits are integers: constants to the derivative
        return (lax_.rng_bit_generator(KEY, (5,))[1].astype(np.float32) * x).sum()

    assert float(irax.grad(lambda x: f(lax, x))(1.0)) == float(jax.grad(lambda x: f(jax.lax, x))(1.0))


def test_vmap_with_an_unbatched_key():
    xs = np.arange(3, dtype=np.uint32)

    def f(lax_, x):
        new_key, bits = lax_.rng_bit_generator(KEY, (5,))
        return new_key + x, bits + x

    _same(irax.vmap(lambda x: f(lax, x))(xs), jax.vmap(lambda x: f(jax.lax, x))(xs))


def test_vmap_over_keys_as_jax():
    """JAX's batching rule: a batch of keys draws (3, 5) bits from the first
    key and advances it alone (a custom_vmap rule in lax_rng.py), in nested
    vmaps and under jit too."""
    keys = np.arange(12, dtype=np.uint32).reshape(3, 4)
    _same(irax.vmap(lambda k: lax.rng_bit_generator(k, (5,)))(keys),
          jax.vmap(lambda k: jax.lax.rng_bit_generator(k, (5,)))(keys))
    nested = lambda r: r.jit(r.vmap(r.vmap(lambda k: r.lax.rng_bit_generator(k, (2,), np.uint8))))  # noqa: E731
    _same(nested(irax)(keys.reshape(3, 1, 4)), nested(jax)(keys.reshape(3, 1, 4)))


def test_random_algorithm_is_jax():
    assert [(a.name, int(a), repr(a), str(a)) for a in lax.RandomAlgorithm] == \
           [(a.name, int(a), repr(a), str(a)) for a in jax.lax.RandomAlgorithm]
    assert lax.RandomAlgorithm(1) is lax.RandomAlgorithm.RNG_THREE_FRY


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the error is what is compared)
        return type(e), str(e)
    raise AssertionError("no error")


@pytest.mark.parametrize("call", [
    lambda lax_: lax_.rng_bit_generator(KEY, (5,), np.int32),
    lambda lax_: lax_.rng_bit_generator(KEY, (5,), np.float32),
    lambda lax_: lax_.rng_bit_generator(KEY, (5,), None),
    lambda lax_: lax_.rng_bit_generator(KEY, (5,), np.uint32, 3),
    lambda lax_: lax_.rng_bit_generator(KEY[:3], (5,)),
    lambda lax_: lax_.rng_bit_generator(KEY.astype(np.int32), (5,)),
    lambda lax_: lax_.rng_bit_generator(KEY.reshape(2, 2), (5,)),
    lambda lax_: lax_.rng_bit_generator([1, 2, 3, 4], (5,)),
], ids=["int32", "float32", "no-dtype", "algorithm-3", "key-of-3", "int32-key", "2x2-key", "list-key"])
def test_errors_are_jax(call):
    assert _error(lambda: call(lax)) == _error(lambda: call(jax.lax))
