"""Control flow under transformations: bugs a differential fuzzer (scan,
fori_loop, while_loop, cond, switch, map, associative_scan and checkpoint
under jit, grad, jvp, vjp, vmap and their compositions) found, each against
JAX (values, shapes, dtypes, weak types; error types). Shapes: (3,)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import same_as_jax as same

jax = pytest.importorskip("jax")
jjnp = jax.numpy

X = np.array([0.5, -1.2, 0.8], np.float32)


# vmap of a cond whose predicate is batched runs both branches and selects;
# the branch a member did not take still read that member's operands, so
# grad through it carried sqrt'(-1.2) = NaN into the gradient (0 * NaN). JAX
# feeds each branch select(pred, x, stop_gradient(x)): 0 there.
def test_grad_of_vmap_of_cond_with_a_batched_predicate_skips_the_untaken_branch():
    def f(lax, np_, vmap):
        return lambda a: vmap(lambda x: lax.cond(x > 0, lambda: np_.sqrt(x), lambda: x * 0.0))(a).sum()
    ours = irax.grad(f(irax.lax, jnp, irax.vmap))(X)
    same(ours, jax.grad(f(jax.lax, jjnp, jax.vmap))(X))
    assert not np.isnan(np.asarray(ours)).any()


# The same for switch (nested ifs) and a value closed over from outside the
# vmap (unbatched, its gradient summed over the members that took the branch).
def test_grad_of_vmap_of_switch_with_a_batched_index_and_a_closed_over_value():
    def f(lax, np_, vmap):
        def loss(a, w):
            def one(x):
                i = (x > 0).astype(np_.int32) + (x > 0.6).astype(np_.int32)
                return lax.switch(i, [lambda: np_.log(x) * w, lambda: np_.sqrt(x) + w, lambda: w / (x - 0.8)])
            return vmap(one)(a).sum()
        return loss
    args = (X, np.float32(2.0))
    same(irax.grad(f(irax.lax, jnp, irax.vmap), argnums=(0, 1))(*args),
         jax.grad(f(jax.lax, jjnp, jax.vmap), argnums=(0, 1))(*args))


# jacfwd computes its basis (an eye) in the program; a loop read slices of it
# (the tangents it carries) and the jacobian of the output `a` returned one
# too: IREE failed to compile that ("'stream.async.dispatch' op : streamable
# op expected to be in an execution region"). JAX: [I, 0.21 I; 0.21 I, ...].
def test_jacfwd_of_a_loop_beside_an_output_that_is_an_input():
    def f(lax):
        return lambda a, b: (a, lax.fori_loop(0, 2, lambda i, c: c * b, a))
    args = (X, np.array([0.7, 0.3, -0.4], np.float32))
    same(irax.jacfwd(f(irax.lax), argnums=(0, 1))(*args), jax.jacfwd(f(jax.lax), argnums=(0, 1))(*args))
