"""irax.random against jax.random (0.10.2, threefry partitionable): the same
key gives the same numbers. Bits, keys, uniform, normal, randint,
bernoulli, categorical, permutations, choices and binomial draws are equal
bit for bit on the CPU; samplers that apply log, pow, tan, erf or a sum to
those draws differ where IREE's and XLA's math differ, by a few float32 eps
(`LOOSE`), and poisson in a rare accept decision (`FLIPS`).

Each sampler compiles one program per shape, so the tests share one odd
shape of 2001 draws (and () where that is a separate path)."""
import ml_dtypes
import numpy as np
import pytest
from helpers import x64_mode

import irax
import irax.numpy as jnp
from irax import random
from irax.random import rejection

jax = pytest.importorskip("jax")
jr = jax.random

SHAPE = (3, 667)
SEEDS = (0, 42)
# max |irax - jax| / max(|jax|, 1) in float32 eps, for samplers that add
# transcendental functions (or a sum) to exactly drawn floats: the
# functions' last-bit differences, amplified where they cancel
# (-log(-log(u)) near u = 1/e).
LOOSE = 8
# On Vulkan, floats agree to GPU_EPS: lavapipe fuses a * b + c into one
# FMA (uniform's scaling, erf_inv's polynomial) and its log, log1p and tan
# are GPU-grade. Bits, integers and booleans are exact there too.
GPU_EPS = 1024


# Rejection samplers of integers (poisson) accept or reject by comparing
# logs and lgamma: where the two sides round within an ulp of each other,
# the other library's math can flip the decision, and that draw alone
# differs (1 in 2100 for one key). At most this fraction may differ.
FLIPS = 1e-3


def _eps(eps, platform):
    return GPU_EPS if platform == "vulkan" else eps


def _keys():
    """Raw keys for SEEDS and a typed key, as (irax key, jax key) pairs."""
    pairs = [(random.PRNGKey(s), jr.PRNGKey(s)) for s in SEEDS]
    return pairs + [(random.key(7), jr.key(7))]


def assert_same(actual, expected, eps=0, flips=0):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        actual.shape, actual.dtype, expected.shape, expected.dtype)
    if actual.dtype.kind == "c":  # part by part, as floats
        actual, expected = (np.stack([a.real, a.imag]) for a in (actual, expected))
    if flips:
        assert np.mean(actual != expected) <= flips, np.mean(actual != expected)
        return
    if eps == 0 or actual.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, strict=True)
        return
    error = np.abs(actual.astype(np.float64) - expected) / np.maximum(np.abs(expected), 1)
    assert np.all(error <= eps * np.finfo(actual.dtype).eps), error.max() / np.finfo(actual.dtype).eps


PROBS = np.array([0.1, 0.2, 0.3, 0.15, 0.25], np.float32)
LOGITS = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], np.float32))
# more outcomes than XLA sums in one window (16): multinomial's running sums as its tree
MANY_PROBS = np.random.default_rng(0).dirichlet(np.ones(40), 3).astype(np.float32)

# name -> (draw(module, key), eps): `module` is jax.random or irax.random.
SAMPLERS = {
    "uniform": (lambda r, k: r.uniform(k, SHAPE), 0),
    "uniform-range": (lambda r, k: r.uniform(k, SHAPE, minval=-2.5, maxval=np.float32(3.25)), 0),
    "normal": (lambda r, k: r.normal(k, SHAPE), 0),
    "normal-complex": (lambda r, k: r.normal(k, SHAPE, np.complex64), 0),
    "randint": (lambda r, k: r.randint(k, SHAPE, -5, 17), 0),
    "randint-full-range": (lambda r, k: r.randint(k, SHAPE, -2**31, 2**31 - 1), 0),
    "randint-int8-clipped": (lambda r, k: r.randint(k, SHAPE, -5, 300, np.int8), 0),
    "bernoulli": (lambda r, k: r.bernoulli(k, 0.3, SHAPE), 0),
    "bernoulli-high": (lambda r, k: r.bernoulli(k, np.float32(0.3), SHAPE, mode="high"), 0),
    "rademacher": (lambda r, k: r.rademacher(k, SHAPE), 0),
    "geometric": (lambda r, k: r.geometric(k, 0.3, SHAPE), 0),
    "lognormal": (lambda r, k: r.lognormal(k, 0.5, SHAPE), 0),
    "wald": (lambda r, k: r.wald(k, 1.5, SHAPE), 0),
    "triangular": (lambda r, k: r.triangular(k, 0.0, 0.3, 1.0, SHAPE), 0),
    "categorical": (lambda r, k: r.categorical(k, LOGITS, shape=(667, 2)), 0),
    "categorical-axis0": (lambda r, k: r.categorical(k, LOGITS.T, axis=0, shape=(667, 2)), 0),
    "categorical-without-replacement": (lambda r, k: r.categorical(k, LOGITS, shape=(3, 2), replace=False), 0),
    "permutation": (lambda r, k: r.permutation(k, 2001), 0),
    "permutation-axis": (lambda r, k: r.permutation(k, np.arange(2001).reshape(3, 667), axis=1), 0),
    "permutation-independent": (
        lambda r, k: r.permutation(k, np.arange(2001).reshape(3, 667), axis=1, independent=True), 0),
    "choice": (lambda r, k: r.choice(k, 10, SHAPE), 0),
    "choice-without-replacement": (lambda r, k: r.choice(k, np.arange(3000) * 2, (2001,), replace=False), 0),
    "choice-p": (lambda r, k: r.choice(k, 5, SHAPE, p=PROBS), 0),
    "choice-p-without-replacement": (lambda r, k: r.choice(k, np.arange(5), (3,), replace=False, p=PROBS), 0),
    "exponential": (lambda r, k: r.exponential(k, SHAPE), LOOSE),
    "laplace": (lambda r, k: r.laplace(k, SHAPE), LOOSE),
    "logistic": (lambda r, k: r.logistic(k, SHAPE), LOOSE),
    "cauchy": (lambda r, k: r.cauchy(k, SHAPE), LOOSE),
    "gumbel": (lambda r, k: r.gumbel(k, SHAPE), LOOSE),
    "gumbel-high": (lambda r, k: r.gumbel(k, SHAPE, mode="high"), LOOSE),
    "gumbel-highest": (lambda r, k: r.gumbel(k, SHAPE, mode="highest"), LOOSE),
    "pareto": (lambda r, k: r.pareto(k, 2.5, SHAPE), LOOSE),
    "weibull_min": (lambda r, k: r.weibull_min(k, 1.5, 2.0, SHAPE), LOOSE),
    "rayleigh": (lambda r, k: r.rayleigh(k, 1.5, SHAPE), LOOSE),
    "truncated_normal": (lambda r, k: r.truncated_normal(k, -1.5, 2.0, SHAPE), LOOSE),
    "maxwell": (lambda r, k: r.maxwell(k, SHAPE), LOOSE),
    "double_sided_maxwell": (lambda r, k: r.double_sided_maxwell(k, 1.0, 2.0, SHAPE), LOOSE),
    "gamma": (lambda r, k: r.gamma(k, np.array([0.3, 1.0, 2.5, 7.0, 0.01], np.float32), (400, 5)), LOOSE),
    "t": (lambda r, k: r.t(k, 3.0, SHAPE), LOOSE),
    "poisson": (lambda r, k: r.poisson(k, np.array([0.0, 0.5, 3.0, 9.9, 10.0, 50.0, 1000.0], np.float32), (300, 7)),
                FLIPS),
    "binomial": (lambda r, k: r.binomial(k, np.array([0, 5, 20, 100, 1000, 30.7], np.float32),
                                         np.array([0.3, 0.7, 0.5, 0.05, 0.9, 0.4], np.float32), (300, 6)), 0),
    "multinomial": (lambda r, k: r.multinomial(k, np.array([[5.0], [30.0], [1000.0]], np.float32), PROBS,
                                               shape=(3, 4, 5)), 0),
    "multinomial-many-outcomes": (lambda r, k: r.multinomial(k, 50, MANY_PROBS, dtype=np.int32, unroll=3), 0),
    "loggamma": (lambda r, k: r.loggamma(k, np.array([0.3, 1.0, 2.5, 7.0, 0.01], np.float32), (400, 5)), LOOSE),
    "beta": (lambda r, k: r.beta(k, 2.0, 0.5, SHAPE), LOOSE),
    "dirichlet": (lambda r, k: r.dirichlet(k, np.array([0.5, 1.0, 2.0], np.float32), (667,)), LOOSE),
    "chisquare": (lambda r, k: r.chisquare(k, 3.0, SHAPE), LOOSE),
    "f": (lambda r, k: r.f(k, 3.0, 4.0, SHAPE), LOOSE),
    "generalized_normal": (lambda r, k: r.generalized_normal(k, 1.5, SHAPE), LOOSE),
    "ball": (lambda r, k: r.ball(k, 3, 2, (667,)), LOOSE),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_draw_jaxs_numbers(name, platform):
    draw, eps = SAMPLERS[name]
    for key, jax_key in _keys():
        if eps == FLIPS:
            assert_same(draw(random, key), draw(jr, jax_key), flips=FLIPS)
        else:
            assert_same(draw(random, key), draw(jr, jax_key), _eps(eps, platform))


@pytest.mark.parametrize("shape", [(), (0,), (1,), (4, 1, 3)])
def test_bits_of_every_shape(shape, platform):
    for key, jax_key in _keys():
        assert_same(random.bits(key, shape), jr.bits(jax_key, shape))
        assert_same(random.uniform(key, shape), jr.uniform(jax_key, shape))
        assert_same(random.normal(key, shape), jr.normal(jax_key, shape), _eps(0, platform))


def test_normal_transform_is_bit_exact(platform):
    """erf_inv of JAX's uniform draws, to the bit on every platform: its
    polynomials' fused multiply-adds are one instruction on the CPU and are
    computed in float64 on Vulkan, whose drivers need not fuse them."""
    u = jr.uniform(jr.PRNGKey(0), SHAPE, minval=np.nextafter(np.float32(-1), np.float32(0)), maxval=1.0)
    assert_same(irax.lax.erf_inv(np.asarray(u)), jax.lax.erf_inv(u))


def test_running_sums_round_as_xla():
    """multinomial's p_i / (p_i + ... + p_last) needs the sums rounded as
    XLA rounds lax.cumsum(reverse=True): 300 outcomes take two levels of its tree."""
    p = np.random.default_rng(1).uniform(size=(300, 3)).astype(np.float32)
    assert_same(irax.jit(rejection._reverse_cumsum)(p), jax.lax.cumsum(p, 0, reverse=True))


def test_bits_of_every_width():
    key, jax_key = random.PRNGKey(3), jr.PRNGKey(3)
    for dtype in (np.uint8, np.uint16, np.uint32):
        assert_same(random.bits(key, (5,), dtype), jr.bits(jax_key, (5,), dtype))
    assert_same(random.randint(key, (5,), 0, 1000, np.uint16), jr.randint(jax_key, (5,), 0, 1000, np.uint16))
    for dtype in (np.float16, ml_dtypes.bfloat16):  # bfloat16 draws 8 bits, as JAX does
        assert_same(random.uniform(key, (5,), dtype), jr.uniform(jax_key, (5,), dtype))


def test_bits_in_64_bit_mode(x64):
    key, jax_key = random.PRNGKey(2**40 + 5), jr.PRNGKey(2**40 + 5)
    assert_same(key, jax_key)
    assert_same(random.bits(key, (5,)), jr.bits(jax_key, (5,)))
    assert_same(random.uniform(key, (5,)), jr.uniform(jax_key, (5,)))
    assert_same(random.randint(key, (5,), -2**40, 2**40), jr.randint(jax_key, (5,), -2**40, 2**40))


def test_the_earlier_threefry_scheme_as_jax_s():
    """jax_threefry_partitionable=False (JAX's scheme before 0.5, which code
    written for its numbers sets) was an unknown option: bits of every width
    (odd counts, 8 and 16 bits from each word's bytes, 64 from two halves),
    split, a sampler on them, under vmap; the default scheme after the block."""
    key, jax_key = random.PRNGKey(7), jr.PRNGKey(7)
    with irax.threefry_partitionable(False), jax.threefry_partitionable(False):
        for dtype, shape in ((np.uint8, (7,)), (np.uint16, (3, 3)), (np.uint32, (5,))):
            assert_same(random.bits(key, shape, dtype), jr.bits(jax_key, shape, dtype))
        with x64_mode(True):
            assert_same(random.bits(key, (3,), np.uint64), jr.bits(jax_key, (3,), np.uint64))
        assert_same(random.key_data(random.split(random.key(7), (2, 3))), jr.key_data(jr.split(jr.key(7), (2, 3))))
        assert_same(irax.vmap(lambda k: random.uniform(k, (3,)))(random.split(key, 2)),
                    jax.vmap(lambda k: jr.uniform(k, (3,)))(jr.split(jax_key, 2)))
    assert_same(random.bits(key, (5,), np.uint32), jr.bits(jax_key, (5,), np.uint32))


@pytest.mark.parametrize("seed", [0, 42, -1, 2**31 - 1, 2**40 + 5, np.int32(-7), np.uint32(2**32 - 1)])
def test_seeds(seed):
    assert_same(random.PRNGKey(seed), jr.PRNGKey(seed))
    assert_same(random.key_data(random.key(seed)), jr.key_data(jr.key(seed)))


def test_split_and_fold_in():
    for key, jax_key in _keys():
        for num in (2, 3, (2, 3)):
            assert_same(random.key_data(random.split(key, num)), jr.key_data(jr.split(jax_key, num)))
        for data in (0, 7, 2**31 - 1, np.int32(-3), np.uint32(2**32 - 1)):
            assert_same(random.key_data(random.fold_in(key, data)), jr.key_data(jr.fold_in(jax_key, data)))
    assert_same(random.split(random.PRNGKey(5), 1000), jr.split(jr.PRNGKey(5), 1000))


def test_under_jit_and_vmap(platform):
    keys, jax_keys = random.split(random.PRNGKey(1), 5), jr.split(jr.PRNGKey(1), 5)

    def draws(r, k):
        return r.uniform(k, (3,)), r.normal(k, (3,)), r.randint(k, (3,), 0, 9), r.split(k), r.fold_in(k, 4)

    expected = jax.vmap(lambda k: draws(jr, k))(jax_keys)
    for actual in (irax.vmap(lambda k: draws(random, k))(keys), irax.jit(irax.vmap(lambda k: draws(random, k)))(keys)):
        for a, e in zip(actual, expected):
            assert_same(a, e, _eps(0, platform))
    for a, e in zip(irax.jit(lambda k: draws(random, k))(keys[2]), draws(jr, jax_keys[2])):
        assert_same(a, e, _eps(0, platform))
    # typed keys are pytrees: through jit and vmap as key arrays
    typed = irax.jit(lambda k: random.split(k, 3))(random.key(1))
    assert typed.dtype == random.key(1).dtype and typed.shape == (3,)
    assert_same(random.key_data(typed), jr.key_data(jr.split(jr.key(1), 3)))
    bits = irax.vmap(lambda k: random.bits(k, (2,)))(typed)
    assert_same(bits, jax.vmap(lambda k: jr.bits(k, (2,)))(jr.split(jr.key(1), 3)))


def test_rejection_loops_and_sorts_under_vmap(platform):
    keys, jax_keys = random.split(random.key(4), 3), jr.split(jr.key(4), 3)
    for draw in (lambda r, k: r.gamma(k, 2.0, (4,)), lambda r, k: r.poisson(k, 3.0, (4,)),
                 lambda r, k: r.permutation(k, 10)):
        assert_same(irax.vmap(lambda k: draw(random, k))(keys), jax.vmap(lambda k: draw(jr, k))(jax_keys),
                    _eps(LOOSE, platform))


def test_grad_of_uniform_bounds():
    key, jax_key = random.PRNGKey(2), jr.PRNGKey(2)

    def mean(r, k, lo, hi):
        return r.uniform(k, (7,), minval=lo, maxval=hi).mean()

    actual = irax.grad(lambda lo, hi: mean(random, key, lo, hi), argnums=(0, 1))(1.0, 4.0)
    expected = jax.grad(lambda lo, hi: mean(jr, jax_key, lo, hi), argnums=(0, 1))(1.0, 4.0)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-6)


GAMMA_FAMILY = {  # r: the random module; a: shape parameters
    "gamma": lambda r, k, a: r.gamma(k, a).sum(),
    "loggamma": lambda r, k, a: r.loggamma(k, a).sum(),
    "beta": lambda r, k, a: r.beta(k, a, a[::-1]).sum(),
    "dirichlet": lambda r, k, a: (r.dirichlet(k, a) * np.arange(4)).sum(),
}


@pytest.mark.parametrize("name", list(GAMMA_FAMILY))
def test_gamma_draws_differentiate_as_jax(name, platform):
    """By implicit reparameterization (lax.random_gamma_grad): the while loop
    of the draw itself cannot be differentiated in reverse mode."""
    a = np.array([0.3, 1.0, 2.5, 7.0], np.float32)
    actual = irax.grad(lambda a: GAMMA_FAMILY[name](random, random.key(1), a))(a)
    expected = jax.grad(lambda a: GAMMA_FAMILY[name](jr, jr.key(1), a))(a)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=16 * _eps(LOOSE, platform) * np.finfo(np.float32).eps)


def test_multivariate_normal_draws_jaxs(platform):
    rng = np.random.default_rng(0)
    mean, factor = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)
    cov = factor @ factor.T + np.eye(3, dtype=np.float32)
    assert_same(random.multivariate_normal(random.key(4), mean, cov, (5, 2)),
                jr.multivariate_normal(jr.key(4), mean, cov, (5, 2)), _eps(LOOSE, platform))
    with pytest.raises(ValueError, match=r"requires cov.shape == \(..., n, n\) for n=3"):
        random.multivariate_normal(random.key(4), mean, cov[:2])


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16])
def test_truncated_normal_in_half_precision(dtype):
    """(bfloat16 raised NumPy's "not inexact" from np.finfo.) JAX's draws within
    an ulp: XLA rounds each bfloat16 op, IREE keeps fused ones in float32."""
    ours = random.truncated_normal(random.PRNGKey(0), -1.0, 1.0, (200,), dtype)
    theirs = jr.truncated_normal(jr.PRNGKey(0), -1.0, 1.0, (200,), dtype)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(np.asarray(ours, np.float32), np.asarray(theirs, np.float32), atol=1e-2)
    assert np.all(np.abs(np.asarray(ours, np.float32)) < 1)


def test_typed_keys_print_and_index_as_jax():
    key, jax_key = random.key(0), jr.key(0)
    assert repr(key) == repr(jax_key) == "Array((), dtype=key<fry>) overlaying:\n[0 0]"
    assert str(key.dtype) == str(jax_key.dtype) == "key<fry>"
    keys, jax_keys = random.split(key, 3), jr.split(jax_key, 3)
    assert repr(keys) == repr(jax_keys)
    assert keys.shape == (3,) and len(keys) == 3 and keys.ndim == 1
    assert repr(keys[1]) == repr(jax_keys[1])
    assert bool(keys[1] == random.split(key, 3)[1]) and not bool(keys[0] == keys[1])
    assert random.key_impl(key) == jr.key_impl(jax_key) == "threefry2x32"
    assert random.key_dtype() == key.dtype and str(random.key_dtype("threefry2x32")) == str(jr.key_dtype())
    assert random.key(0, impl=random.key_dtype()).dtype == key.dtype
    assert_same(random.key_data(random.wrap_key_data(random.key_data(keys))), jr.key_data(jax_keys))
    for dtype in (key.dtype, "threefry2x32"):  # (jax.random.wrap_key_data's docstring: key.dtype wraps key's data)
        assert bool(random.wrap_key_data(random.key_data(key), dtype=dtype) == key)
    for lib, k in ((random, key), (jr, jax_key)):
        with pytest.raises(ValueError, match="Cannot specify both"):
            lib.wrap_key_data(lib.key_data(k), dtype=k.dtype, impl="threefry2x32")
    assert random.clone(key) is key
    # raw keys in, raw keys out; typed in, typed out
    assert isinstance(random.split(random.PRNGKey(0)), irax.Array)
    assert isinstance(random.fold_in(key, 1), random.KeyArray)


def test_typed_key_arrays_reshape_and_have_the_prng_key_dtype_like_jax():
    keys, jax_keys = random.split(random.key(0), 6), jr.split(jr.key(0), 6)
    views = [lambda k: k.reshape(2, 3), lambda k: k.reshape((3, -1)).T, lambda k: k.reshape(1, 6, 1).squeeze(),
             lambda k: k.reshape(1, 6, 1).squeeze(-1), lambda k: k.reshape(2, 3).swapaxes(0, 1),
             lambda k: k.reshape(2, 3).ravel(), lambda k: k.reshape(2, 1, 3).transpose(2, 0, 1),
             lambda k: k.reshape(2, 1, 3).transpose((1, 2, 0)), lambda k: k.reshape(3, 2).flatten()]
    for view in views:
        ours, theirs = view(keys), view(jax_keys)
        assert ours.shape == theirs.shape
        assert_same(random.key_data(ours), jr.key_data(theirs))
    for lib, k in [(irax, keys), (jax, jax_keys)]:
        assert lib.numpy.issubdtype(k.dtype, lib.dtypes.prng_key) and lib.numpy.issubdtype(k.dtype, lib.dtypes.extended)
        assert not lib.numpy.issubdtype(k.dtype, lib.numpy.floating)
        assert not lib.numpy.issubdtype(lib.numpy.float32, lib.dtypes.prng_key)


def _error(fn, *args, **kwargs):
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("case", [
    lambda r, np_: r.uniform(np_.zeros(3, np.uint32)),  # key data of the wrong shape
    lambda r, np_: r.uniform(np_.zeros(2, np.float32)),  # ... and dtype
    lambda r, np_: r.uniform(1.5),
    lambda r, np_: r.uniform(r.split(r.key(0))),  # a batch of keys
    lambda r, np_: r.normal(np_.zeros((2, 2), np.uint32)),
    lambda r, np_: r.split(r.split(r.PRNGKey(0))),
    lambda r, np_: r.fold_in(r.key(0), np_.zeros(3, np.int32)),
    lambda r, np_: r.key(np_.zeros(3, np.int32)),
    lambda r, np_: r.key(r.key(0)),
    lambda r, np_: r.uniform(r.key(0), dtype=np.int32),
    lambda r, np_: r.randint(r.key(0), (2,), 0, 3, dtype=np.float32),
    lambda r, np_: r.bernoulli(r.key(0), np_.int32(1)),
    lambda r, np_: r.uniform(r.key(0), (2,), minval=np_.zeros(3)),
    lambda r, np_: r.choice(r.key(0), 3, (5,), replace=False),
    lambda r, np_: r.bits(r.key(0), dtype=np.int32),
    lambda r, np_: r.multinomial(r.key(0), 10, [0.5, 0.5]),
    lambda r, np_: r.normal(r.key(0), dtype=np.int32),
], ids=["key-shape", "key-dtype", "key-float", "key-batch", "key-batch-2d", "split-batch", "fold_in-array",
        "seed-array", "seed-key", "uniform-dtype", "randint-dtype", "bernoulli-p", "shape-mismatch",
        "choice-too-many", "bits-dtype", "multinomial-list", "normal-dtype"])
def test_errors_as_jax(case):
    actual = _error(case, random, jnp)
    expected = _error(case, jr, jax.numpy)
    assert actual[0] is expected[0] or issubclass(actual[0], expected[0]), (actual, expected)
    assert actual[1].split(" for impl=")[0] == expected[1].split(" for impl=")[0]


@pytest.mark.parametrize("draw", [lambda r, k: r.categorical(k, np.zeros((2, 3), np.float32), shape=(5,)),
                                  lambda r, k: r.bernoulli(k, np.array([0.1, 0.9], np.float32), (3,))])
def test_parameters_that_do_not_broadcast_to_the_shape_raise_value_error_as_jax(draw):
    """(irax raised lax's TypeError.)"""
    jax = pytest.importorskip("jax")
    for lib in (irax, jax):
        with pytest.raises(ValueError, match="Incompatible shapes for broadcasting"):
            draw(lib.random, lib.random.PRNGKey(0))
