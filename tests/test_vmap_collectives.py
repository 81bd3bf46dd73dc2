"""Collectives over vmap's axis (vmap(f, axis_name="i")), against JAX:
each collective, nested vmaps with two names, an unnamed vmap around a
named one, jit around, and grad through the linear ones (psum,
all_gather, psum_scatter, ppermute), also by central differences."""
import jax
import numpy as np
import pytest

import irax
import irax.numpy as inp
from helpers import check_central_differences

X = np.sin(np.arange(12, dtype=np.float32)).reshape(3, 4)  # 3 members of shape (4,)
Y = np.cos(np.arange(24, dtype=np.float32)).reshape(2, 3, 4)

# name -> f(L, np-like) of one member, mapped with axis_name "i"
ONE_AXIS = {
    "psum": lambda L, n: lambda v: L.lax.psum(v, "i"),
    "pmean": lambda L, n: lambda v: L.lax.pmean(v, "i"),
    "pmax": lambda L, n: lambda v: L.lax.pmax(v, "i"),
    "pmin": lambda L, n: lambda v: L.lax.pmin(v, "i"),
    "psum_pytree_int": lambda L, n: lambda v: L.lax.psum({"a": v, "b": (v > 0).astype(n.int32)}, "i"),
    "all_gather": lambda L, n: lambda v: L.lax.all_gather(v, "i"),
    "all_gather_axis1": lambda L, n: lambda v: L.lax.all_gather(v.reshape(2, 2), "i", axis=1),
    "all_gather_tiled": lambda L, n: lambda v: L.lax.all_gather(v, "i", tiled=True),
    "psum_scatter": lambda L, n: lambda v: L.lax.psum_scatter(v[:3], "i"),
    "psum_scatter_tiled": lambda L, n: lambda v: L.lax.psum_scatter(n.tile(v, 3), "i", tiled=True),
    "ppermute": lambda L, n: lambda v: L.lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 0)]),  # (JAX: all of them)
    "axis_index": lambda L, n: lambda v: v * L.lax.axis_index("i"),
}


def _both(make):
    return make(irax, inp), make(jax, jax.numpy)


def _check(got, expected):
    got, expected = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        assert (g.shape, g.dtype) == (e.shape, e.dtype)
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ONE_AXIS))
def test_collective_over_vmap_axis_cpu(name):
    f, jf = _both(ONE_AXIS[name])
    _check(irax.vmap(f, axis_name="i")(X), jax.vmap(jf, axis_name="i")(X))


def _two_axes(L, n):
    return lambda v: (L.lax.psum(v, "i") * 10 + L.lax.axis_index("j") + L.lax.pmax(v, "j")
                      + L.lax.all_gather(v, "j").sum(0) * L.lax.axis_index("i"))


@pytest.mark.parametrize("in_axes", [0, 1])
def test_nested_vmaps_with_two_names_cpu(in_axes):
    f, jf = _both(_two_axes)
    _check(irax.vmap(irax.vmap(f, axis_name="j"), axis_name="i", in_axes=in_axes)(Y),
           jax.vmap(jax.vmap(jf, axis_name="j"), axis_name="i", in_axes=in_axes)(Y))


def test_unnamed_vmap_around_and_jit_cpu():
    f, jf = _both(lambda L, n: L.vmap(lambda v: L.lax.psum(v, "i") + L.lax.axis_index("i"), axis_name="i"))
    _check(irax.jit(irax.vmap(f))(Y), jax.jit(jax.vmap(jf))(Y))


def test_unbatched_operand_and_axis_size_cpu():
    f, jf = _both(lambda L, n: L.vmap(lambda v, c: L.lax.psum(c, "i") + v, in_axes=(0, None), axis_name="i"))
    _check(f(X, X[0]), jf(X, X[0]))
    g, jg = _both(lambda L, n: L.vmap(lambda: L.lax.axis_index("i"), axis_name="i", axis_size=5))
    _check(g(), jg())


def _loss(L, n):
    """Every linear collective over the vmap axis, in one scalar loss of all members."""
    def member(v):
        return (n.sin(L.lax.psum(v, "i")) * L.lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 0)])
                + L.lax.all_gather(v, "i", tiled=True)[:4] ** 2 + L.lax.psum_scatter(n.tile(v * v, 3), "i",
                                                                                     tiled=True))
    return lambda x: (L.vmap(member, axis_name="i")(x) ** 2).sum()


def test_grad_through_vmapped_collectives_cpu():
    loss, jloss = _both(_loss)
    grads = irax.grad(loss)(X)
    _check(grads, jax.grad(jloss)(X))
    eps, numeric = 1e-2, np.zeros_like(X)
    for index in np.ndindex(X.shape):
        up, down = X.copy(), X.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (float(loss(up)) - float(loss(down))) / (2 * eps)
    np.testing.assert_allclose(np.asarray(grads), numeric, rtol=2e-2, atol=2e-2)


def test_vmap_of_grad_with_psum_cpu():
    f, jf = _both(lambda L, n: L.vmap(L.grad(lambda v: (L.lax.psum(v, "i") ** 2).sum()), axis_name="i"))
    _check(f(X), jf(X))


def test_errors_like_jax_cpu():
    with pytest.raises(NameError, match="unbound axis name: j"):
        irax.vmap(lambda v: irax.lax.psum(v, "j"), axis_name="i")(X)
    with pytest.raises(NameError, match="unbound axis name: j"):
        jax.vmap(lambda v: jax.lax.psum(v, "j"), axis_name="i")(X)


def _two_names(L, n):
    """Collectives over both vmap axes at once (JAX batches the reductions and axis_index over several)."""
    return lambda v: (L.lax.psum(v, ("i", "j")), L.lax.pmean(v, ["j", "i"]), L.lax.pmax(v, ("j", "i")),
                      L.lax.pmin(v, ("i", "j")), L.lax.axis_index(("i", "j")), L.lax.axis_index(("j", "i")),
                      L.lax.psum(v, ()))


def test_collectives_over_two_vmap_axes_cpu():
    f, jf = _both(_two_names)
    _check(irax.vmap(irax.vmap(f, axis_name="i"), axis_name="j")(Y),
           jax.vmap(jax.vmap(jf, axis_name="i"), axis_name="j")(Y))


Z = np.sin(np.arange(12, dtype=np.float32) + 1).reshape(4, 3)  # 4 members of shape (3,)
G = [[0, 2], [3, 1]]


def _grouped(L, n):
    return lambda v: (L.lax.psum(v, "i", axis_index_groups=G), L.lax.pmean(v, "i", axis_index_groups=G),
                      L.lax.pmax(v, "i", axis_index_groups=[[1], [0, 2, 3]]),
                      L.lax.all_gather(v, "i", axis_index_groups=G),
                      L.lax.all_gather(v, "i", axis_index_groups=G, tiled=True),
                      L.lax.psum_scatter(v[:2], "i", axis_index_groups=G))


def test_axis_index_groups_over_vmap_axis_cpu():
    """JAX's vmap has no axis_index_groups (NotImplementedError "Please open
    a feature request!"); irax's gives what JAX's pmap gives (tests/test_pmap.py
    checks that against JAX): NumPy here."""
    psum, pmean, pmax, gathered, tiled, scattered = irax.vmap(_grouped(irax, inp), axis_name="i")(Z)
    sums, gathers, parts = np.empty_like(Z), np.empty((4, 2, 3), np.float32), np.empty((4,), np.float32)
    for group in G:
        sums[group] = Z[group].sum(0)
        gathers[group] = Z[group]
        parts[group] = Z[group].sum(0)[:2]
    _check((psum, pmean, gathered, tiled, scattered), (sums, sums / 2, gathers, gathers.reshape(4, 6), parts))
    _check(pmax, np.stack([Z[1], *[Z[[0, 2, 3]].max(0)] * 3])[[1, 0, 2, 3]])
    with pytest.raises(NotImplementedError, match="axis_index_groups not supported in vmap"):
        jax.vmap(_grouped(jax, jax.numpy), axis_name="i")(Z)


def _grouped_loss(L, n):
    def member(v):
        return (n.sin(L.lax.psum(v, "i", axis_index_groups=G)) * v + L.lax.pmean(v, "i", axis_index_groups=G) ** 2
                + n.cos(L.lax.all_gather(v, "i", axis_index_groups=G, tiled=True))[:3] * v
                + L.lax.psum_scatter(n.tile(v * v, 2), "i", axis_index_groups=G, tiled=True) ** 3)
    return lambda x: (L.vmap(member, axis_name="i")(x) ** 2).sum()


def test_grad_through_grouped_collectives_cpu():
    """The linear collectives with groups transpose with the same groups: by central differences."""
    loss = _grouped_loss(irax, inp)
    check_central_differences({"x": np.asarray(irax.grad(loss)(Z))}, lambda p: {"x": loss(p["x"])}, {"x": Z}, Z.shape,
                              tol=2e-2)


@pytest.mark.parametrize("groups", [[[0, 1], [1, 2]], [[0, 1], [2, 5]]])
def test_axis_index_groups_errors_like_jax_cpu(groups):
    for L in (irax, jax):
        with pytest.raises(ValueError, match="axis_index_groups must cover all indices exactly once"):
            L.vmap(lambda v: L.lax.psum(v, "i", axis_index_groups=groups), axis_name="i")(Z)
    with pytest.raises(ValueError, match="they cover 2, but axis 'i' has 4"):
        irax.vmap(lambda v: irax.lax.psum(v, "i", axis_index_groups=[[1], [0]]), axis_name="i")(Z)
    with pytest.raises(ValueError, match=r"axis_name \('i', 'i'\) names an axis more than once"):
        irax.vmap(lambda v: irax.lax.psum(v, ("i", "i")), axis_name="i")(Z)


def test_grad_through_collectives_over_two_axes_cpu():
    """psum, all_gather, psum_scatter and ppermute over both vmap axes at once: by central differences."""
    def member(v):
        shift = [(k, (k + 1) % 6) for k in range(6)]
        return (inp.sin(irax.lax.psum(v, ("j", "i"))) * irax.lax.ppermute(v, ("i", "j"), shift)
                + irax.lax.all_gather(v, ("i", "j"), tiled=True)[3:5] ** 2
                + irax.lax.psum_scatter(inp.tile(v * v, 6), ("j", "i"), tiled=True))

    def loss(x):
        return (irax.vmap(irax.vmap(member, axis_name="i"), axis_name="j")(x) ** 2).sum()
    x = Y[:, :, :2].copy()
    check_central_differences({"x": np.asarray(irax.grad(loss)(x))}, lambda p: {"x": loss(p["x"])}, {"x": x}, x.shape,
                              tol=2e-2)


def test_axis_size_like_jax_cpu():
    for L in (irax, jax):
        np.testing.assert_array_equal(L.vmap(lambda v: v * L.lax.axis_size("i"), axis_name="i")(np.ones(3)), [3] * 3)
        two = L.vmap(L.vmap(lambda v: v * L.lax.axis_size(("i", "j")), axis_name="j"), axis_name="i")(np.ones((3, 2)))
        np.testing.assert_array_equal(two, np.full((3, 2), 6))
        with pytest.raises(NameError, match="unbound axis name: k"):
            L.lax.axis_size("k")
