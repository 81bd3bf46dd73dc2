"""Derivatives at the edges of a function's domain (ties, 0, the tails,
infinities), where differentiating the ops a function is written with gives
NaN, 0 or half the slope, against JAX's rules: eagerly and under jit, and a
second derivative where JAX has one."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.special as isp

jax = pytest.importorskip("jax")
import jax.scipy.special as jsp  # noqa: E402

# name -> (function of (numpy module, scipy.special, nn), points)
CASES = {
    # max and |x1 - x2| tie at x1 = x2: the slope went all to one side (0 and 1, JAX 0.5 each)
    "logaddexp": (lambda np_, sp, nn: lambda x: np_.logaddexp(x, 1.0), [1.0, 2.0, -3.0, np.inf, -np.inf]),
    "logaddexp2": (lambda np_, sp, nn: lambda x: np_.logaddexp2(1.0, x), [1.0, 0.5, np.inf]),
    "cbrt": (lambda np_, sp, nn: np_.cbrt, [0.0, -0.0, 8.0, -27.0, np.inf, -np.inf]),  # inf at 0 (was NaN), 0 at inf (1)
    "sigmoid": (lambda np_, sp, nn: nn.sigmoid, [-100.0, -20.0, 0.0, 3.0, 100.0]),  # NaN below -88 (0 * inf)
    "log_sigmoid": (lambda np_, sp, nn: nn.log_sigmoid, [-100.0, 0.0, 100.0]),
    "sinc": (lambda np_, sp, nn: np_.sinc, [0.0, 0.5, -1.5]),  # second derivative at 0 was 0, not -pi^2 / 3
    "log_ndtr": (lambda np_, sp, nn: sp.log_ndtr, [-50.0, -10.0, -9.0, 0.0, 5.0, 6.0]),  # half the slope at -10
    # pow was differentiated as the ops of C99's pow, written with |x|: d/dy (-2)**y was log(2) (-2)**y (JAX
    # NaN: log x), d/dx x**0.5 at x < 0 and at 0 0 (JAX NaN and inf), d/dx x**1.0 at 0 0 (JAX 1)
    "power_negative_base_in_y": (lambda np_, sp, nn: lambda y: np_.power(-2.0, y), [3.0, 2.0, 0.5, 0.0]),
    "power_zero_base_in_y": (lambda np_, sp, nn: lambda y: np_.power(0.0, y), [3.0, 0.5, 0.0, -1.0]),
    "power_in_x": (lambda np_, sp, nn: lambda x: np_.power(x, 0.5) + np_.power(x, np.float32(1.0)), [-2.0, 0.0, 4.0]),
    # a known integer exponent multiplies (lax.integer_pow), whose x ** 0 has derivative 0 (was NaN at 0)
    "power_of_known_integers": (lambda np_, sp, nn: lambda x: x ** 0 + np_.power(x, np_.array(3)), [0.0, -2.0, 1.5]),
    # to an integer array (lax.pow of an integer y): d/dx 0 where y = 0 (was NaN at x = 0)
    "power_to_integer_arrays": (lambda np_, sp, nn: lambda x: np_.power(x, np_.arange(3)).sum(), [0.0, -2.0, 1.5]),
    # at exact multiples (a zero remainder) the derivatives were 0 (JAX's rem rule: 1 and -trunc(x / y))
    "remainder_in_x": (lambda np_, sp, nn: lambda x: np_.remainder(x, 1.5), [3.0, -3.0, 0.0, 2.5]),
    "remainder_in_y": (lambda np_, sp, nn: lambda y: np_.remainder(3.0, y), [1.5, -1.5, 1.0, 2.5]),
    "fmod_in_x": (lambda np_, sp, nn: lambda x: np_.fmod(x, 1.5), [3.0, -3.0, 0.0, 2.5]),
    "fmod_in_y": (lambda np_, sp, nn: lambda y: np_.fmod(-3.0, y), [1.5, -1.5, 1.0, 2.5]),
}


@pytest.mark.parametrize("name", CASES)
def test_derivatives_at_the_edges_like_jax(name):
    fn, points = CASES[name]
    ours, theirs = fn(jnp, isp, irax.nn), fn(jax.numpy, jsp, jax.nn)
    x = np.array(points, np.float32)
    orders = [(irax.grad(ours), jax.grad(theirs)), (irax.grad(irax.grad(ours)), jax.grad(jax.grad(theirs)))]
    for order, (d, dj) in enumerate(orders[:1 if name in ("log_ndtr", "cbrt") else 2]):
        want = np.array(jax.vmap(dj)(x))
        for got in (irax.vmap(d)(x), irax.jit(irax.vmap(d))(x)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6, atol=1e-30, err_msg=f"order {order + 1}")


# Odd functions are x itself near 0 (scalar_rules._near_zero); their second
# and third derivatives there were 0, those of x, rather than f's.
ODD_NEAR_ZERO = ["sin", "tan", "arcsin", "arctan", "sinh", "tanh", "arcsinh", "arctanh"]


@pytest.mark.parametrize("name", ODD_NEAR_ZERO)
def test_higher_derivatives_of_odd_functions_near_zero_like_jax(name):
    x = np.array([1e-5, -1e-5, 0.0, 1e-3], np.float32)
    d, dj = getattr(jnp, name), getattr(jax.numpy, name)
    for order in range(4):
        got, want = np.asarray(irax.vmap(d)(x)), np.array(jax.vmap(dj)(x))
        # JAX's own float32 rules are 3e-3 off at 1e-5 (tanh's (1 + t)(1 - t) differentiates to a cancellation)
        np.testing.assert_allclose(got, want, rtol=2e-6 if order < 2 else 3e-3, atol=1e-30, err_msg=f"order {order}")
        d, dj = irax.grad(d), jax.grad(dj)
