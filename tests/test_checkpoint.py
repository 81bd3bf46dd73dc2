"""irax.checkpoint (remat) with JAX's policies, linearize and linear_transpose,
against JAX; on every platform (CORE), since recomputation changes the
programs the devices run."""
import re

import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
W = rng.normal(size=(3, 4)).astype(np.float32)
Y = rng.uniform(0.3, 1.1, (3, 4)).astype(np.float32)



def _block(np_):
    """A layer whose backward pass reads what its forward pass computed: the
    product, and the inner sin."""
    return lambda w, x: np_.sin(np_.sin(x @ w.T))


def _stacked(lib, np_, **checkpoint_kwargs):
    """Two checkpointed layers closing over w, the outer one nesting them."""
    ckpt = lambda f: lib.checkpoint(f, **checkpoint_kwargs)  # noqa: E731
    layer = ckpt(_block(np_))
    return lambda w, x: np_.sum(ckpt(lambda x: layer(w, layer(w, x) @ w) * 2.0)(x) ** 2)


CHECKPOINT_POLICIES = [None, "nothing_saveable", "everything_saveable", "dots_saveable",
                       "dots_with_no_batch_dims_saveable"]


@pytest.mark.parametrize("policy", CHECKPOINT_POLICIES)
def test_checkpoint_gives_the_gradients_of_the_unmarked_function_and_of_jax(policy):
    ours = {} if policy is None else {"policy": getattr(irax.checkpoint_policies, policy)}
    theirs = {} if policy is None else {"policy": getattr(jax.checkpoint_policies, policy)}
    w, x = W[:, :3], X[:, :3]
    got = irax.value_and_grad(_stacked(irax, jnp, **ours), argnums=(0, 1))(w, x)
    keep_all = irax.checkpoint_policies.everything_saveable
    unmarked = irax.value_and_grad(_stacked(irax, jnp, prevent_cse=False, policy=keep_all), argnums=(0, 1))(w, x)
    want = jax.value_and_grad(_stacked(jax, jjnp, **theirs), argnums=(0, 1))(w, x)
    for a, b, c in zip(jax.tree.leaves(got), jax.tree.leaves(unmarked), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=1e-5)


# (math.sin, linalg.matmul, util.optimization_barrier) in the optimized
# gradient program of sum(block(w, x)): the unmarked function computes each
# sin and the product once, and its backward pass needs one more product and
# one math.sin per sin (sin x is ±cos r in odd quadrants, see
# elementwise._sin_by_quadrant, whose derivative is ∓sin r); a recomputation
# adds what it computes again.
RECOMPUTED = {
    "unmarked": (4, 2, 0),
    "nothing_saveable": (5, 3, 2),  # both sins' input recomputed: the product and the inner sin
    "everything_saveable": (4, 2, 0),  # nothing recomputed: no barrier either
    "dots_saveable": (5, 2, 2),  # the product kept (behind a barrier), the inner sin recomputed
    "prevent_cse=False": (4, 2, 0),  # CSE merges the recomputation with the forward pass
}


@pytest.mark.parametrize("case", sorted(RECOMPUTED))
def test_checkpoint_recomputes_the_forward_pass_in_the_backward_pass(case):
    if case == "unmarked":
        layer = _block(jnp)
    elif case == "prevent_cse=False":
        layer = irax.checkpoint(_block(jnp), prevent_cse=False)
    else:
        layer = irax.checkpoint(_block(jnp), policy=getattr(irax.checkpoint_policies, case))
    lowered = irax.value_and_grad(lambda w, x: jnp.sum(layer(w, x))).lower(W, X)
    text = lowered.as_text("optimized")
    counts = tuple(text.count(op) for op in ("math.sin", "linalg.matmul", "util.optimization_barrier"))
    assert counts == RECOMPUTED[case], text
    if case == "nothing_saveable":
        traced, after_ad = lowered.as_text("traced"), lowered.as_text("after_ad")
        assert 'irax.prevent_cse, irax.remat = "nothing_saveable"' in traced and "util.optimization_barrier" in after_ad


def test_checkpoint_policies_without_batch_dimensions_recompute_batched_products():
    """A batched matrix product is a dot with batch dimensions: dots_saveable
    keeps it, dots_with_no_batch_dims_saveable recomputes it (as JAX's
    policies do with a dot_general's batch dimensions)."""
    x = np.ones((2, 3, 3), np.float32)

    def contractions(policy):
        layer = irax.checkpoint(lambda x: jnp.sin(jnp.matmul(x, x)), policy=policy)
        text = irax.grad(lambda x: jnp.sum(layer(x) ** 2)).lower(x).as_text("optimized")
        return text.count('"reduction"]')

    p = irax.checkpoint_policies
    assert contractions(p.dots_with_no_batch_dims_saveable) == contractions(p.nothing_saveable)
    assert contractions(p.dots_saveable) == contractions(p.nothing_saveable) - 1
    assert p.checkpoint_dots is p.dots_saveable and irax.remat is irax.checkpoint


def test_checkpoint_outside_grad_jvp_and_static_arguments():
    """Outside reverse mode checkpoint(f) is f: eagerly, under jit and under
    jvp (which differentiates through it); static_argnums arguments are
    Python values f may branch on."""
    f = irax.checkpoint(_block(jnp))
    w, x = jnp.asarray(W), jnp.asarray(X)
    np.testing.assert_array_equal(f(w, x), _block(jnp)(w, x))
    np.testing.assert_allclose(irax.jit(f)(w, x), _block(jnp)(w, x), rtol=1e-6)
    ours = irax.jvp(f, (w, x), (x, w))
    theirs = jax.jvp(jax.checkpoint(_block(jjnp)), (W, X), (X, W))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    power = irax.checkpoint(lambda x, n: x ** n if n > 1 else x, static_argnums=(1,))
    np.testing.assert_allclose(irax.grad(lambda x: jnp.sum(power(x, 3)))(x), 3 * X ** 2, rtol=1e-6)


def test_checkpoint_composes_with_grad_control_flow_and_vmap():
    """A checkpointed function holding a gradient (whose calls the pass
    inlines before recomputing), in a gradient of a gradient, in a scan
    body, and under vmap: JAX's values."""
    x = X[0]
    cases = [
        lambda lib, np_: lambda x: lib.checkpoint(lib.grad(lambda x: np_.sum(np_.sin(x) ** 3)))(x).sum(),
        lambda lib, np_: lambda x: lib.grad(lambda x: lib.checkpoint(np_.sin)(x).sum())(x).sum(),
        lambda lib, np_: lambda x: lib.lax.scan(lib.checkpoint(lambda c, y: (np_.sin(c * y), c)), x, W)[0].sum(),
        lambda lib, np_: lambda x: lib.vmap(lib.checkpoint(lambda r: np_.sin(r) ** 2))(x.reshape(2, 2)).sum(),
    ]
    for case in cases:
        np.testing.assert_allclose(irax.grad(case(irax, jnp))(x), jax.grad(case(jax, jjnp))(x), rtol=2e-5, atol=1e-6)


def _named(lib, np_):
    """_block with its values named (gradient-checkpointing.md's checkpoint_name)."""
    name = lib.ad_checkpoint.checkpoint_name
    return lambda w, x: np_.sin(name(np_.sin(name(x @ w.T, "product")), name="inner"))


# policy of names -> (math.sin, linalg.matmul) in the optimized gradient program,
# as RECOMPUTED counts them: a name saved is not computed again
NAMED = {
    ("save_only_these_names", ("inner",)): (4, 3),
    ("save_only_these_names", ("product",)): (5, 2),
    ("save_only_these_names", ("product", "inner")): (4, 2),
    ("save_any_names_but_these", ("inner",)): (5, 2),
    ("save_only_these_names", ("other",)): (5, 3),  # as nothing_saveable
}


@pytest.mark.parametrize("policy, names", sorted(NAMED))
def test_policies_of_names_save_the_values_checkpoint_name_named(policy, names):
    import jax.ad_checkpoint
    import irax.ad_checkpoint

    def loss(lib, np_):
        layer = lib.checkpoint(_named(lib, np_), policy=getattr(lib.checkpoint_policies, policy)(*names))
        return lambda w, x: np_.sum(layer(w, x) ** 2)

    got = irax.value_and_grad(loss(irax, jnp), argnums=(0, 1))(W, X)
    want = jax.value_and_grad(loss(jax, jjnp), argnums=(0, 1))(W, X)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-5)
    text = irax.value_and_grad(loss(irax, jnp)).lower(W, X).as_text("optimized")
    assert tuple(text.count(op) for op in ("math.sin", "linalg.matmul")) == NAMED[policy, names]
    # a name outside a trace is the value itself; under jit, vmap and jvp, a copy of it
    assert irax.ad_checkpoint.checkpoint_name(X, "x") is X
    name = irax.ad_checkpoint.checkpoint_name
    np.testing.assert_allclose(irax.jit(lambda x: name(jnp.sin(x), "s"))(X), np.sin(X), rtol=1e-6)
    np.testing.assert_allclose(irax.vmap(lambda x: name(x * 2, "d"))(X), X * 2)
    np.testing.assert_allclose(irax.jvp(lambda x: name(jnp.sin(x), "s"), (X,), (Y,))[1], np.cos(X) * Y, rtol=1e-5)


def test_checkpoint_errors_like_jax():
    p = irax.checkpoint_policies
    with pytest.raises(NotImplementedError, match="save_from_both_policies is not implemented"):
        p.save_from_both_policies(p.dots_saveable, p.nothing_saveable)

    def my_policy(*_, **__):
        return True

    with pytest.raises(NotImplementedError, match="policy my_policy is not implemented"):
        irax.checkpoint(jnp.sin, policy=my_policy)
    for bad, error in [((1.5,), TypeError), (3, ValueError)]:
        with pytest.raises(error) as theirs:
            jax.checkpoint(lambda x: x, static_argnums=bad)(1.0)
        with pytest.raises(error, match=re.escape(str(theirs.value))):
            irax.checkpoint(lambda x: x, static_argnums=bad)(1.0)


def test_linearize_like_jax():
    f = lambda x, y: {"a": x * y, "b": jnp.sin(x) * y}  # noqa: E731
    fj = lambda x, y: {"a": x * y, "b": jjnp.sin(x) * y}  # noqa: E731
    x, y = X[0], W[0]
    out, f_jvp = irax.linearize(f, x, y)
    out_j, f_jvp_j = jax.linearize(fj, x, y)
    for tangents in [(y, x), (x, x)]:  # one linearization, applied twice
        ours, theirs = f_jvp(*tangents), f_jvp_j(*tangents)
        assert jax.tree.structure(ours) == jax.tree.structure(theirs)
        for a, b in zip(jax.tree.leaves((out, ours)), jax.tree.leaves((out_j, theirs))):
            np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
    _, g_jvp, aux = irax.linearize(lambda x: (jnp.sin(x), x * 2), x, has_aux=True)
    np.testing.assert_allclose(g_jvp(y), np.cos(x) * y, rtol=1e-6)
    np.testing.assert_allclose(aux, x * 2)
    for bad in [(y,), (y, Y)]:
        with pytest.raises((TypeError, ValueError)) as theirs:
            f_jvp_j(*bad)
        with pytest.raises(theirs.type, match=re.escape(str(theirs.value))):
            f_jvp(*bad)


def test_linear_transpose_like_jax():
    f = lambda x, y: {"a": 2.0 * x @ W.T, "b": x - y}  # noqa: E731 (linear in (x, y))
    x, y = X[0], irax.ShapeDtypeStruct((4,), jnp.float32)
    ours = irax.linear_transpose(f, x, y)
    theirs = jax.linear_transpose(f, x, jax.ShapeDtypeStruct((4,), jjnp.float32))
    ct = {"a": X[:, 0], "b": W[0]}
    got, want = ours(ct), theirs(ct)
    assert isinstance(got, tuple) and jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-6)
    np.testing.assert_allclose(irax.jit(ours)(ct)[0], want[0], rtol=2e-6)
    for bad in [{"a": X[:, 0]}, {"a": X[0], "b": W[0]}]:
        with pytest.raises(TypeError):
            theirs(bad)
        with pytest.raises(TypeError, match="cotangent t(ree|ype) does not match function output"):
            ours(bad)
    with pytest.raises(TypeError, match=re.escape("linear_transpose only supports [float or complex] -> [float or "
                                                  "complex], and integer -> integer functions, but got")):
        irax.linear_transpose(lambda x: x.astype(jnp.int32), x)


@pytest.mark.parametrize("primal_weak", [True, False])
@pytest.mark.parametrize("cotangent_weak", [True, False])
def test_cotangents_are_weakly_typed_where_jax_s_are(primal_weak, cotangent_weak):
    """A cotangent is weak only where its primal and the incoming cotangent
    both are; grad's result is weak exactly where its primal is."""
    def weak_types(lib, np_mod):
        primal = 1.0 if primal_weak else np_mod.float32(1.0)
        cotangent = 3.0 if cotangent_weak else np_mod.float32(3.0)
        f = lambda x: 2.0 * x  # noqa: E731
        results = (lib.linear_transpose(f, primal)(cotangent)[0], lib.vjp(f, primal)[1](cotangent)[0],
                   lib.grad(f)(primal), lib.grad(lambda x: np_mod.float32(2.0) * x)(primal))
        return [bool(r.weak_type) for r in results]

    assert weak_types(irax, jnp) == weak_types(jax, jjnp)
