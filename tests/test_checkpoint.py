"""irax.checkpoint (remat) with JAX's policies, linearize and linear_transpose,
against JAX; on every platform (CORE), since recomputation changes the
programs the devices run."""
import contextlib
import io
import re

import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")
jjnp = jax.numpy
import jax.ad_checkpoint  # noqa: E402
import irax.ad_checkpoint  # noqa: E402

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


# ---------------------------------------------------------------------------
# print_saved_residuals: irax's residuals, in JAX's words

def _layer(np_):
    """gradient-checkpointing.md's g."""
    def g(W, x):
        y = np_.dot(W, x)
        return np_.sin(y)
    return g


def _residual_cases(lib, np_):
    """name -> (function, its arguments): the docs' examples on which irax's
    reverse pass keeps what JAX's keeps."""
    g, name, policies = _layer(np_), lib.ad_checkpoint.checkpoint_name, lib.checkpoint_policies
    w1, w2, x = np_.asarray(W[:, :3]), np_.asarray(W[:2, :3]), np_.asarray(X[0, :3])
    c = np_.asarray(Y[0, :3])

    def named(params, x):
        for i, w in enumerate(params):
            x = name(g(w, x), f"layer{i}_output")
        return np_.sum(x)

    def nested(x):
        return lib.checkpoint(lambda x: np_.sin(lib.checkpoint(np_.sin)(np_.sin(x))))(x)

    return {
        "each layer checkpointed": (lambda w1, w2, x: lib.checkpoint(g)(w2, lib.checkpoint(g)(w1, x)), (w1, w2, x)),
        "dots_with_no_batch_dims_saveable": (
            lib.checkpoint(lambda w1, w2, x: g(w2, g(w1, x)), policy=policies.dots_with_no_batch_dims_saveable),
            (w1, w2, x)),
        "save_only_these_names": (
            lib.checkpoint(lambda w1, w2, x: g(w2, name(g(w1, x), "a")), policy=policies.save_only_these_names("a")),
            (w1, w2, x)),
        "save_any_names_but_these, pytree argument": (
            lib.checkpoint(named, policy=policies.save_any_names_but_these("layer1_output")), ([w1, w1, w2], x)),
        "nested checkpoints": (nested, (np_.float32(3.0),)),
        "closed-over array": (lambda w, x: np_.sum(w @ (x * c)), (w1, x)),
        "keyword arguments": (lambda p, *, x: lib.checkpoint(g)(p["w"], x), ({"w": w1},)),
    }


def _printed(lib, f, *args, **kwargs) -> list:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lib.ad_checkpoint.print_saved_residuals(f, *args, **kwargs)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("case", ["each layer checkpointed", "dots_with_no_batch_dims_saveable",
                                  "save_only_these_names", "save_any_names_but_these, pytree argument",
                                  "nested checkpoints", "closed-over array", "keyword arguments"])
def test_print_saved_residuals_prints_jax_s_lines_where_the_residuals_agree(case):
    (ours, args), (theirs, _) = _residual_cases(irax, jnp)[case], _residual_cases(jax, jjnp)[case]
    kwargs = {"x": jnp.asarray(X[0, :3])} if case == "keyword arguments" else {}
    want = _printed(jax, theirs, *args, **kwargs)
    assert _printed(irax, ours, *args, **kwargs) == want and want


def test_print_saved_residuals_names_what_irax_s_rules_keep():
    """Where irax's rules read other values than JAX's, it says so: the
    derivative of sin(y) is its body's derivative, cos(y), computed in the
    backward pass from y, so irax keeps each product y = W @ x (and sin(y),
    the next product's operand) where JAX keeps sin(y) and cos(y)."""
    g = _layer(jnp)
    line = g.__code__.co_firstlineno
    where = f"{__file__}:{{}}:{{}} (_layer.<locals>.g)"
    got = _printed(irax, lambda w1, w2, x: g(w2, g(w1, x)), W[:, :3], W[:2, :3], X[0, :3])
    assert got == ["f32[3,3] from the argument w1", "f32[2,3] from the argument w2", "f32[3] from the argument x",
                   f"f32[3] output of dot_general from {where.format(line + 1, 12)}",
                   f"f32[3] output of sin from {where.format(line + 2, 15)}",
                   f"f32[2] output of dot_general from {where.format(line + 1, 12)}"]
    # what a function closes over is a constant; nothing is kept of an exp whose input is an argument
    assert _printed(irax, lambda x: jnp.sum(jnp.exp(x)), X) == ["f32[3,4] from the argument x"]
    assert irax.ad_checkpoint.saved_residuals(lambda x: jnp.sum(x * 2.0), X) == []


def _offloaded(lib, np_, policy):
    """new_docs/301/remat.md's f_offload."""
    name = lib.ad_checkpoint.checkpoint_name

    def f_offload(x):
        y = name(np_.sin(x), "y")
        z = name(np_.sin(y), "z")
        w = name(np_.sin(z), "w")
        return np_.sum(w)

    return lib.checkpoint(f_offload, policy=policy(lib))


def test_save_and_offload_only_these_names_keeps_both_sets_of_names():
    """One memory space per device: a value offloaded is kept where it is.
    JAX keeps the same values, the offloaded one in host memory
    (`f32<host>[4] output of device_put`); the gradients are JAX's."""

    def policy(lib):
        return lib.checkpoint_policies.save_and_offload_only_these_names(
            names_which_can_be_saved=["y"], names_which_can_be_offloaded=["z"], offload_src="device",
            offload_dst="pinned_host")

    x = np.arange(4.0, dtype=np.float32)
    np.testing.assert_allclose(irax.grad(_offloaded(irax, jnp, policy))(x), jax.grad(_offloaded(jax, jjnp, policy))(x),
                               rtol=1e-6)
    ours, theirs = _printed(irax, _offloaded(irax, jnp, policy), x), _printed(jax, _offloaded(jax, jjnp, policy), x)
    assert ours[:2] == theirs[:2] and len(ours) == len(theirs) == 3
    assert theirs[2].startswith("f32<host>[4] ") and ours[2].startswith("f32[4] named 'z' from ")
    only = lambda lib: lib.checkpoint_policies.save_only_these_names("y", "z")  # noqa: E731
    assert ours == _printed(irax, _offloaded(irax, jnp, only), x)
    for lib in (jax, irax):
        with pytest.raises(ValueError) as raised:
            lib.checkpoint_policies.save_and_offload_only_these_names(
                names_which_can_be_saved=["y"], names_which_can_be_offloaded=["y"], offload_src="device",
                offload_dst="pinned_host")
        if lib is jax:
            message = str(raised.value)
    assert str(raised.value) == message
    # offloading the products without batch dimensions keeps them: dots_with_no_batch_dims_saveable
    p = irax.checkpoint_policies
    assert p.offload_dot_with_no_batch_dims("device", "pinned_host") is p.dots_with_no_batch_dims_saveable
