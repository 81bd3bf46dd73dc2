"""irax.random: bugs a differential fuzzer (every jax.random function, with
raw and typed keys, shapes (), (0,), (3,) and (2, 3), float16, bfloat16,
float32 and float64, edge parameters, invalid arguments, under jit, vmap
and grad) found, each against JAX (values, dtypes, weak types; error types
and messages). Shapes: (0,) and (3,)."""
import numpy as np
import pytest

import irax
from helpers import error_of, same_as_jax as same

jax = pytest.importorskip("jax")


# A draw of no elements returned its parameter broadcast to the shape, so a
# Python float (weakly typed) came back weakly typed; JAX's draw is not.
@pytest.mark.parametrize("draw", [lambda r, k: r.gamma(k, 2.5, (0,)), lambda r, k: r.loggamma(k, 0.3, (0,)),
                                  lambda r, k: r.beta(k, 2.0, 0.5, (0,))], ids=["gamma", "loggamma", "beta"])
def test_gamma_family_draws_of_no_elements_are_not_weakly_typed(draw):
    same(draw(irax.random, irax.random.key(0)), draw(jax.random, jax.random.key(0)))
    same(irax.jit(lambda k: draw(irax.random, k))(irax.random.key(0)),
         jax.jit(lambda k: draw(jax.random, k))(jax.random.key(0)))


# categorical and choice (without replacement) draw Gumbel noise of the
# logits' dtype and mode, which JAX's gumbel checks: irax took any mode (as
# "low") and int logits failed in ml_dtypes.finfo ("not inexact").
@pytest.mark.parametrize("call", [
    lambda r: r.categorical(r.key(0), np.zeros(4, np.float32), mode="foo"),
    lambda r: r.categorical(r.key(0), np.zeros(4, np.float32), replace=False, mode="foo"),
    lambda r: r.choice(r.key(0), 4, (2,), replace=False, p=np.full(4, 0.25, np.float32), mode="foo"),
    lambda r: r.categorical(r.key(0), np.array([0, 1, 2], np.int32)),
], ids=["categorical-mode", "categorical-without-replacement-mode", "choice-mode", "categorical-int-logits"])
def test_gumbel_noise_arguments_are_checked_as_jax(call):
    assert error_of(lambda: call(irax.random)) == error_of(lambda: call(jax.random))


def test_choice_with_replacement_ignores_the_mode_as_jax():
    draw = lambda r: r.choice(r.key(0), 4, (3,), p=np.full(4, 0.25, np.float32), mode="foo")  # noqa: E731
    same(draw(irax.random), draw(jax.random))


# A Python bool is a Python int to JAX's seeding (as int64): irax refused it.
@pytest.mark.parametrize("seed", [True, False])
def test_a_bool_seeds_as_an_int(seed):
    same(irax.random.PRNGKey(seed), jax.random.PRNGKey(seed))
    same(irax.random.key_data(irax.random.key(seed)), jax.random.key_data(jax.random.key(seed)))


# JAX checks key data by its attributes: a typed key array has ndim, shape
# and dtype, so wrapping one fails on its ndim or dtype, not for want of them.
@pytest.mark.parametrize("keys", [lambda r: r.key(0), lambda r: r.split(r.key(0))], ids=["scalar", "array"])
def test_wrapping_typed_keys_fails_as_jax(keys):
    assert error_of(lambda: irax.random.wrap_key_data(keys(irax.random))) == error_of(
        lambda: jax.random.wrap_key_data(keys(jax.random)))


# maxval above the dtype's range with minval at its bottom makes the span
# the whole range, 2**32, which wraps to 0 in uint32: JAX's lax.rem(x, 0)
# is x, so every draw is kept; irax took NumPy's remainder (x % 0 = 0), and
# every draw was minval.
def test_randint_over_the_whole_range_of_its_dtype():
    draw = lambda r: r.randint(r.PRNGKey(0), (3,), np.int32(-2**31), np.uint32(2**32 - 1), np.int32)  # noqa: E731
    same(draw(irax.random), draw(jax.random))


# float64 erf_inv computed in float32 (its polynomials are float32's), so
# float64 normal draws, and all built on them, were 1e-8 off JAX's (XLA
# has float64 polynomials of its own). Now within the last bits of log1p.
def test_float64_normal_draws_have_float64_accuracy(x64):
    ours = irax.random.normal(irax.random.PRNGKey(0), (3,), np.float64)
    theirs = jax.random.normal(jax.random.PRNGKey(0), (3,), np.float64)
    assert ours.dtype == theirs.dtype == np.float64
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=64 * np.finfo(np.float64).eps)
    x = np.array([-1.0, -0.999999999, -0.3, 1e-300, 0.5, 0.99, 1 - 1e-15, 1.0])
    np.testing.assert_allclose(np.asarray(irax.lax.erf_inv(x)), jax.lax.erf_inv(x), rtol=64 * np.finfo(np.float64).eps)


# JAX's orthogonal draws a normal matrix of the dtype, complex too (a
# unitary Q): irax refused complex dtypes, with its own message for others.
def test_orthogonal_draws_unitary_matrices_of_a_complex_dtype():
    ours = irax.random.orthogonal(irax.random.key(0), 2, (), np.complex64)
    same(ours, jax.random.orthogonal(jax.random.key(0), 2, (), np.complex64))
    np.testing.assert_allclose(np.asarray(ours) @ np.asarray(ours).conj().T, np.eye(2), atol=1e-6)


# Samplers that check their dtype where their inner draw does, as JAX's:
# generalized_normal and ball as gamma (irax: ml_dtypes' "not inexact"),
# orthogonal as normal.
@pytest.mark.parametrize("call", [lambda r: r.generalized_normal(r.key(0), 2.0, (3,), np.int32),
                                  lambda r: r.ball(r.key(0), 2, 2, (3,), np.int32),
                                  lambda r: r.orthogonal(r.key(0), 2, (), np.int32)],
                         ids=["generalized_normal", "ball", "orthogonal"])
def test_integer_dtypes_refused_as_jax(call):
    assert error_of(lambda: call(irax.random)) == error_of(lambda: call(jax.random))
