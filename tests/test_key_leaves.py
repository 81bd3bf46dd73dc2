"""Typed PRNG key arrays are pytree leaves, as JAX's: `tree_leaves(key)`
is `[key]`, and `tree_map` gets the key array itself. Every
transformation still takes keys as arguments, results, closures and
carries (each traces a key's uint32 data: tree_util.tree_flatten_data);
each case runs under irax and JAX alike and must give the same tree of
leaves (key arrays holding JAX's key data, float0 arrays of the keys'
shape where JAX gives no derivative, numbers)."""
import importlib

import numpy as np
import pytest

import irax
from irax import random
from helpers import error_of

jax = pytest.importorskip("jax")


def _same(got, want):
    """`got` (irax) has `want`'s (JAX) tree structure and leaves: key arrays
    of JAX's shape and key data, float0 arrays of its shape, values."""
    got_leaves, want_leaves = irax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves), (got, want)
    for g, w in zip(got_leaves, want_leaves):
        if not hasattr(w, "dtype"):  # a Python number (JAX's eager custom_jvp gives one back)
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6)
        elif jax.dtypes.issubdtype(w.dtype, jax.dtypes.prng_key):
            assert isinstance(g, random.KeyArray) and g.shape == w.shape, (g, w)
            np.testing.assert_array_equal(np.asarray(random.key_data(g)), np.asarray(jax.random.key_data(w)))
        elif w.dtype == jax.dtypes.float0:
            assert g.dtype == irax.dtypes.float0 and g.shape == w.shape, (g, w)
        else:
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def _cases(m):
    """name -> function of the library `m` (irax or jax) using keys across
    one transformation; run the same way under both libraries."""
    r, lax = m.random, m.lax
    k = lambda: r.key(0)  # noqa: E731
    ks = lambda: r.split(r.key(1), 3)  # noqa: E731
    float0 = lambda shape: np.zeros(shape, m.dtypes.float0)  # noqa: E731
    normal = lambda key: r.normal(key)  # noqa: E731
    split0 = lambda key: r.split(key)[0]  # noqa: E731

    def custom_jvp_key_output():
        f = m.custom_jvp(lambda x, key: (x * 2.0, r.split(key)[0]))
        f.defjvp(lambda p, t: (f(*p), (t[0] * 2.0, float0(()))))
        return m.jvp(lambda x: f(x, k())[0], (1.0,), (1.0,))

    def custom_vjp_key_residual():
        f = m.custom_vjp(lambda x, key: x * normal(key))
        f.defvjp(lambda x, key: (f(x, key), key), lambda key, g: (g * normal(key), None))
        return m.grad(f)(1.0, k())

    return {
        # the tree functions: a key array is one leaf
        "tree_map_shapes": lambda: m.tree.map(lambda a: np.array(np.shape(a)), {"k": ks(), "x": 1.0}),
        "tree_leaves": lambda: m.tree_util.tree_leaves([k(), (ks(),)]),
        # jit: arguments, static arguments, results, closures
        "jit": lambda: m.jit(lambda key: (key, r.split(key)))(k()),
        "jit_static_num": lambda: m.jit(lambda key, n: r.split(key, n), static_argnums=1)(k(), 3),
        "jit_closure": lambda: (lambda key: m.jit(lambda x: x * normal(key))(2.0))(k()),
        # vmap: in_axes and out_axes count the key array's axes (its data has one more)
        "vmap": lambda: m.vmap(normal)(ks()),
        "vmap_in_axes_negative": lambda: m.vmap(lambda key: normal(key[0]), in_axes=-1)(r.split(k(), (2, 3))),
        "vmap_out_axes_negative": lambda: m.vmap(r.split, out_axes=-1)(ks()),
        "vmap_out_axes_minus2": lambda: m.vmap(r.split, out_axes=-2)(ks()),
        "vmap_out_axes_1": lambda: m.vmap(r.split, out_axes=1)(ks()),
        "vmap_out_axes_none": lambda: m.vmap(lambda x: (x, k()), out_axes=(0, None))(np.ones(3, np.float32)),
        "vmap_dict_in_axes": lambda: m.vmap(lambda d: normal(d["k"]), in_axes=({"k": 0},))({"k": ks()}),
        "vmap_unmapped_key": lambda: m.vmap(lambda x, key: x * normal(key), in_axes=(0, None))(
            np.ones(3, np.float32), k()),
        "jit_of_vmap_out_axes": lambda: m.jit(m.vmap(r.split, out_axes=-1))(ks()),
        # derivatives: a key is an argument with no derivative, or aux
        "grad_key_argument": lambda: m.grad(lambda x, key: x * normal(key))(1.0, k()),
        "grad_allow_int_key": lambda: m.grad(lambda x, key: x, argnums=(0, 1), allow_int=True)(1.0, ks()),
        "grad_aux_key": lambda: m.grad(lambda x, key: (x * 2.0, r.split(key)), has_aux=True)(1.0, k()),
        "jit_grad_aux_key": lambda: m.jit(m.grad(lambda x, key: (x * normal(key), key), has_aux=True))(1.0, k()),
        "jvp_key_primal": lambda: m.jvp(lambda x, key: (x * normal(key), key), (1.0, k()), (1.0, float0(()))),
        "vjp_key_output": lambda: m.vjp(lambda key: split0(key), k())[1](float0(())),
        "vjp_key_argument": lambda: m.vjp(lambda x, key: x * normal(key), 1.0, k())[1](1.0),
        "jacfwd_aux_key": lambda: m.jacfwd(lambda x: (x, k()), has_aux=True)(1.0),
        "checkpoint": lambda: m.grad(m.checkpoint(lambda x, key: x * normal(key)))(1.0, k()),
        "checkpoint_key_output": lambda: m.checkpoint(r.split)(k()),
        "custom_jvp_key_output": custom_jvp_key_output,
        "custom_vjp_key_residual": custom_vjp_key_residual,
        "stop_gradient": lambda: lax.stop_gradient({"k": k()}),
        "device_put": lambda: m.device_put(ks()),
        "optimization_barrier": lambda: lax.optimization_barrier((k(), 1.0)),
        # control flow: keys as operands, carries, xs and ys
        "scan": lambda: lax.scan(lambda c, x: (split0(c), (normal(x), x)), k(), ks()),
        "map_batched": lambda: lax.map(r.split, ks(), batch_size=2),
        "fori_loop": lambda: lax.fori_loop(0, 3, lambda i, c: split0(c), k()),
        "while_loop": lambda: lax.while_loop(lambda c: c[0] < 2, lambda c: (c[0] + 1, r.split(c[1][0], 3)), (0, ks())),
        "cond": lambda: lax.cond(False, lambda key: key, split0, k()),
        "switch": lambda: lax.switch(1, [lambda key: key, split0], k()),
        "vmap_cond": lambda: m.vmap(lambda p, key: lax.cond(p, lambda key: key, split0, key))(
            np.array([True, False, True]), ks()),
    }


CASES = sorted(_cases(jax))


@pytest.mark.parametrize("name", CASES)
def test_keys_across_transformations_as_jax(name):
    _same(_cases(irax)[name](), _cases(jax)[name]())


def test_a_key_array_is_a_leaf():
    """The key array itself, not its data, with no key path of its own."""
    keys = random.split(random.key(0), 3)
    assert irax.tree_util.tree_leaves(keys)[0] is keys
    assert irax.tree_util.treedef_is_leaf(irax.tree_util.tree_structure(keys))
    path, leaf = irax.tree_util.tree_flatten_with_path({"k": keys})[0][0]
    assert leaf is keys and path == (irax.tree_util.DictKey("k"),)
    assert irax.tree_util.all_leaves([keys])


def test_a_key_array_prints_as_a_leaf_in_treedefs_as_jax():
    """The treedef the transformations flatten by, which their error messages
    print (a key array in it a node of its data), prints a key array as the
    leaf it is to JAX: irax printed `CustomNode(KeyArray[None], [*])`."""
    tree = lambda m: {"k": m.random.key(0), "x": (1.0, m.random.split(m.random.key(1)))}  # noqa: E731
    data_treedef = irax.tree_util.tree_flatten_data(tree(irax))[1]
    assert str(data_treedef) == str(jax.tree_util.tree_structure(tree(jax))) == "PyTreeDef({'k': *, 'x': (*, *)})"


@pytest.mark.parametrize("name, call", [
    ("grad_wrt_key", lambda m: m.grad(lambda key: 1.0)(m.random.key(0))),
    ("grad_holomorphic_key", lambda m: m.grad(lambda key: 1.0, holomorphic=True)(m.random.key(0))),
    ("vmap_axis_out_of_range", lambda m: m.vmap(lambda key: key, in_axes=1)(m.random.split(m.random.key(0), 3))),
    # (JAX's pure_callback takes no key result: its NumPy dtype check fails on the key's dtype)
    ("pure_callback_key_result", lambda m: m.pure_callback(lambda: m.random.key(0),
                                                           m.ShapeDtypeStruct((), m.random.key(0).dtype))),
])
def test_errors_name_the_key_as_jax(name, call):
    """JAX's error type and message, which name the key's dtype and shape (not its data's)."""
    assert error_of(lambda: call(irax)) == error_of(lambda: call(jax))


def test_scan_over_a_scalar_key_raises():
    """A key array of shape () has no axis to scan over, as in JAX (its data has one: the key's words)."""
    with pytest.raises(IndexError):
        jax.lax.scan(lambda c, x: (c, x), 0, jax.random.key(0))
    with pytest.raises(ValueError, match=r"no leading axis to scan over: key<fry>\[\]"):
        irax.lax.scan(lambda c, x: (c, x), 0, random.key(0))


def test_eval_shape_and_jaxpr_of_keys():
    """A key array's shape and dtype, as JAX's ShapeDtypeStruct gives them."""
    got = irax.eval_shape(random.split, random.key(0))
    want = jax.eval_shape(jax.random.split, jax.random.key(0))
    assert (got.shape, str(got.dtype)) == (want.shape, str(want.dtype))
    assert [(a.shape, a.dtype) for a in irax.make_jaxpr(random.split)(random.key(0)).in_avals] == [((2,), np.uint32)]


def test_jit_keeps_keys_warm():
    """A key argument takes jit's warm path (its data's aval in the key): one trace."""
    traces = []

    @irax.jit
    def f(key):
        traces.append(1)
        return random.split(key)

    for seed in range(3):
        f(random.key(seed))
    assert len(traces) == 1
    np.testing.assert_array_equal(np.asarray(random.key_data(f(random.key(5)))),
                                  np.asarray(jax.random.key_data(jax.random.split(jax.random.key(5)))))


def test_shape_dtype_structs_of_keys_as_jax():
    """eval_shape of a key gives JAX's ShapeDtypeStruct of dtype key<fry> (it
    gave a key array over its data's struct), and a ShapeDtypeStruct of keys
    traces as keys in eval_shape and jit's lower (it was refused)."""
    for lib in (irax, jax):
        key_dtype = lib.random.key(0).dtype
        out = lib.eval_shape(lambda k: (lib.random.split(k), lib.random.normal(k, (2,))), lib.random.key(0))
        assert [(s.shape, str(s.dtype)) for s in out] == [((2,), "key<fry>"), ((2,), "float32")]
        struct = lib.ShapeDtypeStruct((3,), key_dtype)
        assert repr(struct) == "ShapeDtypeStruct(shape=(3,), dtype=key<fry>)"
        batched = lib.eval_shape(lib.vmap(lib.random.split), struct)
        assert (batched.shape, str(batched.dtype)) == ((3, 2), "key<fry>")
        compiled = lib.jit(lib.random.split).lower(lib.ShapeDtypeStruct((), key_dtype)).compile()
        assert compiled(lib.random.key(0)).shape == (2,)
    np.testing.assert_array_equal(random.key_data(irax.jit(random.split).lower(irax.ShapeDtypeStruct(
        (), random.key(0).dtype)).compile()(random.key(5))), jax.random.key_data(jax.random.split(jax.random.key(5))))


def test_typeof_of_a_shape_dtype_struct_of_keys_as_jax():
    """typeof of a ShapeDtypeStruct of keys is the keys' abstract value, that
    of a key array of its shape, printed `key<fry>[3]` as JAX's (it was a key
    array over its data's abstract value), and ShapeDtypeStruct.like takes it
    (an AttributeError before)."""
    for lib in (irax, jax):
        key = lib.random.key(0)
        for shape in ((), (3,)):
            aval = lib.typeof(lib.ShapeDtypeStruct(shape, key.dtype))
            assert aval == lib.typeof(lib.random.split(key, shape))
            assert (str(aval), repr(aval)) == (f"key<fry>[{','.join(map(str, shape))}]",
                                               f"ShapedArray(key<fry>[{','.join(map(str, shape))}])")
            assert repr(lib.ShapeDtypeStruct.like(lib.ShapeDtypeStruct(shape, key.dtype))) == (
                f"ShapeDtypeStruct(shape={shape}, dtype=key<fry>)")


def test_keys_do_not_promote_as_jax():
    """result_type of keys is their dtype; with any other dtype JAX's
    ValueError, and ravel_pytree of a key JAX's TypeError (a KeyError before)."""
    for lib in (irax, jax):
        k = lib.random.key(0)
        assert str(lib.numpy.result_type(k, k)) == "key<fry>"
        with pytest.raises(ValueError, match="not a valid dtype for JAX type promotion"):
            lib.numpy.result_type(k, 1.0)
        with pytest.raises(TypeError):
            importlib.import_module(f"{lib.__name__}.flatten_util").ravel_pytree({"k": k})
