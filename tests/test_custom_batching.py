"""irax.custom_batching (custom_vmap, sequential_vmap) against jax.custom_batching:
the rule replaces the function under vmap and only there, with JAX's
arguments (batch size, which leaves are batched, batch axis first), its
out_batched broadcast where needed, through jit, nested vmaps, pytrees,
closures and jvp, with JAX's errors. Shapes: (3,) and (2, 3) float32."""
import jax
import jax.custom_batching
import numpy as np
import pytest
from helpers import error_of

import irax
import irax.custom_batching
import irax.numpy as jnp

X = np.arange(3, dtype=np.float32)
XS = np.arange(6, dtype=np.float32).reshape(2, 3)


def _both(build):
    """build(library, jnp) for irax and for JAX, each with its own custom_batching."""
    return build(irax, jnp), build(jax, jax.numpy)


def _same(ours, theirs):
    for got, want in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
    assert jax.tree.structure(jax.tree.map(np.asarray, ours)) == jax.tree.structure(jax.tree.map(np.asarray, theirs))


def _sin_times(lib, np_):
    """JAX's docs' example: f(x, y) = sin(x) y, whose rule says cos(xs) ys
    (not f batched, so a test can tell which ran); it records its calls."""
    calls = []
    f = lib.custom_batching.custom_vmap(lambda x, y: np_.sin(x) * y)

    @f.def_vmap
    def rule(axis_size, in_batched, xs, ys):
        calls.append((axis_size, in_batched, np_.shape(xs), np_.shape(ys)))
        return np_.cos(xs) * ys, True

    return f, calls


def test_the_rule_runs_under_vmap_only():
    (ours, our_calls), (theirs, their_calls) = _both(_sin_times)
    _same(ours(X, 2.0), theirs(X, 2.0))
    assert our_calls == their_calls == []
    for in_axes in (0, (0, None)):
        y = X if in_axes == 0 else 2.0
        _same(irax.vmap(ours, in_axes)(X, y), jax.vmap(theirs, in_axes)(X, y))
        _same(irax.jit(irax.vmap(ours, in_axes))(X, y), jax.jit(jax.vmap(theirs, in_axes))(X, y))
    assert our_calls == their_calls == [(3, [True, True], (3,), (3,))] * 2 + [(3, [True, False], (3,), ())] * 2


def test_nested_vmaps_batch_the_rule_the_inner_one_gives():
    (ours, our_calls), (theirs, their_calls) = _both(_sin_times)
    _same(irax.vmap(irax.vmap(ours))(XS, XS), jax.vmap(jax.vmap(theirs))(XS, XS))
    _same(irax.vmap(irax.vmap(ours), in_axes=(0, None))(XS, X), jax.vmap(jax.vmap(theirs), in_axes=(0, None))(XS, X))
    assert our_calls == their_calls


def test_pytrees_in_and_out_and_unbatched_outputs():
    """in_batched is a list of pytrees of bools like the arguments; an output
    the rule gives unbatched is broadcast, or given back at out_axes None."""
    def build(lib, np_):
        f = lib.custom_batching.custom_vmap(lambda p, x: {"a": p["w"] * x, "b": x + 1})

        @f.def_vmap
        def rule(axis_size, in_batched, p, x):
            assert in_batched == [{"w": False}, True]
            return {"a": p["w"] * x[:, None] * 10, "b": x[0] + 1}, {"a": True, "b": False}

        return f

    ours, theirs = _both(build)
    p = {"w": X}
    _same(irax.vmap(ours, in_axes=(None, 0))(p, X), jax.vmap(theirs, in_axes=(None, 0))(p, X))
    out_axes = {"a": 0, "b": None}
    _same(irax.vmap(ours, (None, 0), out_axes)(p, X), jax.vmap(theirs, (None, 0), out_axes)(p, X))
    _same(ours(p, 2.0), theirs(p, 2.0))  # outside vmap: arrays, as JAX's
    assert isinstance(ours(p, 2.0)["b"], irax.Array)


def test_sequential_vmap_maps_by_a_loop():
    """A callback that takes one member at a time (its vmap_method None:
    vmap alone raises JAX's error) works batched by sequential_vmap, in
    nested vmaps and under jit, with unbatched arguments passed as they are."""
    def one_member(x, y):
        assert x.shape == (3,) and np.shape(y) == (), (x.shape, np.shape(y))
        return np.cumsum(x) + y

    def build(lib, np_):
        def f(x, y):
            return lib.pure_callback(one_member, lib.ShapeDtypeStruct((3,), np_.float32), x, y)
        return f, lib.custom_batching.sequential_vmap(f)

    (f, ours), (_, theirs) = _both(build)
    with pytest.raises(NotImplementedError, match="vmap_method is one of"):
        irax.vmap(f, in_axes=(0, None))(XS, np.float32(1))
    _same(irax.vmap(ours, in_axes=(0, None))(XS, np.float32(1)), jax.vmap(theirs, in_axes=(0, None))(XS, 1.0))
    twice = (np.stack([XS, XS]), XS[0, :2])
    _same(irax.jit(irax.vmap(irax.vmap(ours, (0, None)), (0, 0)))(*twice),
          jax.vmap(jax.vmap(theirs, (0, None)), (0, 0))(*twice))


def test_closures():
    """What the function closes over is passed to the rule's function where
    the rule closes over it too (a jit argument, a value the vmapped
    function made); a rule closing over a concrete array holds it; a
    closure over what the vmap batches is JAX's AssertionError."""
    def build(lib, np_):
        w = np_.asarray(X)
        f = lib.custom_batching.custom_vmap(lambda x: x * w)
        f.def_vmap(lambda axis_size, in_batched, xs: (xs * w + 100, True))
        in_jit = lib.jit(lambda v, xs: lib.vmap(lib.custom_batching.sequential_vmap(lambda x: x * v))(xs))

        def made_inside(x):
            c = np_.ones(3) * 2
            return lib.custom_batching.sequential_vmap(lambda z: z * c)(x)

        return f, in_jit, made_inside

    (f, in_jit, made_inside), (g, their_in_jit, their_made_inside) = _both(build)
    _same(irax.vmap(f)(XS), jax.vmap(g)(XS))
    _same(in_jit(X + 1, XS), their_in_jit(X + 1, XS))
    _same(irax.vmap(made_inside)(XS), jax.vmap(their_made_inside)(XS))

    def closing_over(lib):
        def h(x, y):
            inner = lib.custom_batching.custom_vmap(lambda z: z * y)
            inner.def_vmap(lambda axis_size, in_batched, zs: (zs * 2, True))
            return inner(x)
        return h

    with pytest.raises(AssertionError):
        jax.vmap(closing_over(jax))(X, X)
    with pytest.raises(AssertionError, match="closes over a value the vmap batches"):
        irax.vmap(closing_over(irax))(X, X)
    _same(irax.vmap(closing_over(irax), (0, None))(X, 5.0), jax.vmap(closing_over(jax), (0, None))(X, 5.0))


def test_forward_mode_differentiates_the_function_and_reverse_the_rule_vmap_gave():
    (ours, _), (theirs, _) = _both(_sin_times)
    _same(irax.jvp(ours, (X, X), (X, X)), jax.jvp(theirs, (X, X), (X, X)))
    _same(irax.jvp(irax.vmap(ours), (X, X), (X, X)), jax.jvp(jax.vmap(theirs), (X, X), (X, X)))
    total = lambda lib, f: lambda x: lib.vmap(f)(x, x).sum()  # noqa: E731
    _same(irax.grad(total(irax, ours))(X), jax.grad(total(jax, theirs))(X))


def test_with_custom_vjp_outside_grad_takes_its_rule_and_vmap_the_batching_rule():
    """JAX's docs' combination: custom_vjp around custom_vmap. (Here the vmap
    rule is defined before the custom_vjp wraps it: irax's custom_vjp does
    not forward `def_vmap` to the function it wraps, as JAX's does.)"""
    def build(lib, np_):
        inner = lib.custom_batching.custom_vmap(lambda x, y: np_.sin(x) * y)
        inner.def_vmap(lambda axis_size, in_batched, xs, ys: (np_.cos(xs) * ys, True))
        f = lib.custom_vjp(inner)
        f.defvjp(lambda x, y: (f(x, y), (np_.cos(x), y)), lambda res, g: (res[0] * g * res[1] * 10, g))
        return f

    ours, theirs = _both(build)
    _same(irax.vmap(ours)(X, X), jax.vmap(theirs)(X, X))
    _same(irax.grad(ours)(1.0, 2.0), jax.grad(theirs)(1.0, 2.0))
    _same(irax.vmap(irax.grad(ours))(X, X), jax.vmap(jax.grad(theirs))(X, X))
    total = lambda lib, f: lambda x: lib.vmap(f)(x, x).sum()  # noqa: E731
    _same(irax.grad(total(irax, ours))(X), jax.grad(total(jax, theirs))(X))


def test_a_rule_defined_through_the_custom_vjp_that_wraps_the_function():
    """JAX's docs' decorator order: `@custom_vjp @custom_vmap def f`, then
    `@f.def_vmap` and `f.defvjp`: a custom function's missing `def...`
    attributes are those of the function it wraps."""
    def build(lib, np_):
        @lib.custom_vjp
        @lib.custom_batching.custom_vmap
        def f(x):
            return np_.sin(x)

        @f.def_vmap
        def rule(axis_size, in_batched, xs):
            return np_.cos(xs), True

        f.defvjp(lambda x: (f(x), x), lambda x, g: (g * 3,))
        return f

    ours, theirs = _both(build)
    _same(irax.vmap(ours)(X), jax.vmap(theirs)(X))
    _same(irax.grad(ours)(1.0), jax.grad(theirs)(1.0))
    assert error_of(lambda: ours.define_nothing) == error_of(lambda: theirs.define_nothing)


def test_reverse_mode_of_the_function_is_jax_error():
    """A custom_vmap function has no transpose: reverse mode through it is
    JAX's ValueError (the vjp pass refuses its call), forward mode
    differentiates the function (the jvp pass, through its body)."""
    (ours, _), (theirs, _) = _both(_sin_times)
    assert error_of(lambda: irax.grad(ours)(1.0, 2.0)) == error_of(lambda: jax.grad(theirs)(1.0, 2.0))
    assert error_of(lambda: irax.jit(irax.grad(ours))(1.0, 2.0))[0] == "ValueError"
    _same(irax.jvp(ours, (1.0, 2.0), (1.0, 0.5)), jax.jvp(theirs, (1.0, 2.0), (1.0, 0.5)))


@pytest.mark.parametrize("rule", [
    lambda n, b, x: ((x, x), True),
    lambda n, b, x: (x, (True, True)),
    lambda n, b, x: ({"y": x}, {"y": True}),
], ids=["two-outputs-one-flag", "one-output-two-flags", "another-structure"])
def test_a_rule_of_the_wrong_structure_is_jax_error(rule):
    def build(lib, np_):
        def g(x):
            return x * 2
        f = lib.custom_batching.custom_vmap(g)
        f.def_vmap(rule)
        return f

    ours, theirs = _both(build)
    assert error_of(lambda: irax.vmap(ours)(X)) == error_of(lambda: jax.vmap(theirs)(X))


def test_other_errors():
    def build(lib, np_):
        def g(x, y):
            return x * y
        return lib.custom_batching.custom_vmap(g)

    ours, theirs = _both(build)
    assert error_of(lambda: ours(X, X)) == error_of(lambda: theirs(X, X))  # no rule
    assert "No batching rule defined for custom_vmap function g using def_vmap." in error_of(lambda: ours(X, X))[1]
    for f in (ours, theirs):
        f.def_vmap(lambda n, b, xs, ys: (xs[0] * ys[0], True))
    assert error_of(lambda: ours(X, z=X)) == error_of(lambda: theirs(X, z=X))
    _same(ours(X, y=X), theirs(X, y=X))
    # a rule's output of another shape than it says: JAX does not check, irax says so
    with pytest.raises(ValueError, match=r"returned float32\[3\] for output 0 .* it must be float32\[2,3\]"):
        irax.vmap(ours)(XS, XS)
