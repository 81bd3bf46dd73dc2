"""Transformation bugs (vmap, grad, vjp, jacobians) a differential fuzzer
found, each against JAX (values, shapes, dtypes; error types). Shapes: (3,)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import same_as_jax as same

jax = pytest.importorskip("jax")
jjnp = jax.numpy

X = np.array([1.0, -2.0, 3.0], np.float32)


def _loop_of_a_value_bound(lax, np_):
    """A fori_loop whose bound is computed from a concrete array (static to
    JAX, traced to irax's staged trace, so reverse mode takes the eager path)
    and whose body reads the differentiated `a` from its closure."""
    n = np_.asarray(np.int32(2))
    return lambda a: lax.fori_loop(0, np_.clip(n, 0, 3), lambda k, c: c * 0.5 + a, a)


# jacrev's eager fallback reruns the straight line under a trace; the loop (a
# staged call) read the `a` of the eager run from its closure, so the
# derivatives through `+ a` were lost: 0.25 * I, JAX's 1.75 * I.
def test_jacrev_through_a_staged_call_closing_over_the_input():
    ours = irax.jacrev(_loop_of_a_value_bound(irax.lax, jnp))(X)
    theirs = jax.jacrev(_loop_of_a_value_bound(jax.lax, jjnp))(X)
    same(ours, theirs)
    np.testing.assert_allclose(np.asarray(ours), 1.75 * np.eye(3))


# vjp's backward pass raised DynamicBoundsError where grad takes the eager path.
def test_vjp_through_a_loop_of_a_value_bound():
    ours = irax.vjp(_loop_of_a_value_bound(irax.lax, jnp), X)[1](X)
    same(ours, jax.vjp(_loop_of_a_value_bound(jax.lax, jjnp), X)[1](X))


# vjp's forward pass fell back to the eager path for Python control flow
# only, not for a boolean mask index (NonConcreteBooleanIndexError).
def test_vjp_of_a_boolean_mask_index():
    def f(np_):
        return lambda a: np_.sum(a[a > 0] ** 2)
    same(irax.vjp(f(jnp), X)[1](1.0), jax.vjp(f(jjnp), X)[1](1.0))


# grad of a one-element list is JAX's TypeError (no scalar output); irax
# differentiated its element.
def test_grad_of_a_list_output_is_a_type_error():
    with pytest.raises(TypeError, match="scalar-output"):
        jax.grad(lambda a: [a.sum()])(X)
    with pytest.raises(TypeError, match="scalar-output"):
        irax.grad(lambda a: [a.sum()])(X)
