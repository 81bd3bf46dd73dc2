"""The aux output of grad, value_and_grad, vjp, jvp, linearize, jacrev,
jacfwd and hessian with has_aux=True, against JAX: called eagerly its
leaves that are not arrays come back as they are (Python numbers, strings,
NumPy arrays, None, any object; jacfwd's vmap refuses what is not a number
or an array); under jit they are arrays, a string an error."""
import numpy as np
import pytest

import irax

jax = pytest.importorskip("jax")

X = np.array([1.0, -2.0], np.float32)
AUX = {"int": 3, "float": 2.5, "bool": True, "complex": 1j, "none": None, "numpy": np.arange(2),
       "numpy_scalar": np.float32(1.5), "tuple": (1, 2.0)}
STRINGS = {"str": "hello", "object": object, "tuple_of_str": (1, "in a tuple")}


def _f(module, extra):
    return lambda x: ((x ** 2).sum(), {**AUX, **extra, "array": x * 2})


# transformation name -> the aux of its result, for a module (irax or jax) and a function of X
AUX_OF = {
    "grad": lambda m, f: m.grad(f, has_aux=True)(X)[1],
    "value_and_grad": lambda m, f: m.value_and_grad(f, has_aux=True)(X)[0][1],
    "vjp": lambda m, f: m.vjp(f, X, has_aux=True)[2],
    "jvp": lambda m, f: m.jvp(f, (X,), (X,), has_aux=True)[2],
    "linearize": lambda m, f: m.linearize(f, X, has_aux=True)[2],
    "jacrev": lambda m, f: m.jacrev(f, has_aux=True)(X)[1],
    "jacfwd": lambda m, f: m.jacfwd(f, has_aux=True)(X)[1],
    "hessian": lambda m, f: m.hessian(f, has_aux=True)(X)[1],
}


def _same_leaves(ours, theirs):
    """The same tree, each leaf of the same Python type (an irax Array where
    JAX has a jax Array) and value."""
    ours_leaves, ours_tree = irax.tree_util.tree_flatten(ours)
    theirs_leaves, theirs_tree = jax.tree_util.tree_flatten(theirs)
    assert str(ours_tree) == str(theirs_tree)
    for a, b in zip(ours_leaves, theirs_leaves):
        if isinstance(b, jax.Array):
            assert isinstance(a, irax.Array) and (a.dtype, a.weak_type) == (b.dtype, b.weak_type), (a, b)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        else:
            assert type(a) is type(b), (a, b)
            np.testing.assert_array_equal(a, b)
            assert getattr(a, "dtype", None) == getattr(b, "dtype", None)


@pytest.mark.parametrize("name", AUX_OF)
def test_eager_aux_leaves_come_back_unchanged(name):
    _same_leaves(AUX_OF[name](irax, _f(irax, {})), AUX_OF[name](jax, _f(jax, {})))


@pytest.mark.parametrize("name", AUX_OF)
def test_eager_strings_and_objects(name):
    """Leaves that are no array at all: back as they are, except from jacfwd
    (and hessian, its jacfwd), whose vmap refuses them with JAX's TypeError."""
    if name in ("jacfwd", "hessian"):
        for module in (irax, jax):
            with pytest.raises(TypeError, match="is not a valid JAX type"):
                AUX_OF[name](module, _f(module, STRINGS))
        return
    ours = AUX_OF[name](irax, _f(irax, STRINGS))
    assert ours["str"] == "hello" and ours["object"] is object
    _same_leaves(ours, AUX_OF[name](jax, _f(jax, STRINGS)))


@pytest.mark.parametrize("name", ["grad", "vjp", "jvp", "jacrev", "jacfwd"])
def test_under_jit_aux_leaves_are_arrays(name):
    """jit's outputs are arrays (weakly typed for Python numbers), as JAX's;
    a string out of jit is JAX's TypeError, but one that stays inside is fine."""
    ours = irax.jit(lambda x: AUX_OF[name](irax, _f(irax, {})))(X)
    theirs = jax.jit(lambda x: AUX_OF[name](jax, _f(jax, {})))(X)
    _same_leaves(ours, theirs)
    for module in (irax, jax):
        with pytest.raises(TypeError):
            module.jit(lambda x: AUX_OF[name](module, _f(module, STRINGS))["str"])(X)
    inside = lambda m: m.jit(lambda x: m.grad(_f(m, STRINGS), has_aux=True)(x)[0])  # noqa: E731
    _same_leaves(inside(irax)(X), inside(jax)(X))


def test_aux_follows_python_control_flow_on_values():
    """A function that branches on values (grad's fallback runs it op by op):
    each branch's aux as it is."""
    def f(x):
        if x.sum() < 0:
            return (x ** 2).sum(), ("negative", 1)
        return x.sum(), ("not negative", 2)

    for module in (irax, jax):
        assert module.grad(f, has_aux=True)(X)[1] == ("negative", 1)
        assert module.grad(f, has_aux=True)(-X)[1] == ("not negative", 2)
        assert module.vjp(f, X, has_aux=True)[2] == ("negative", 1)


def test_vmap_of_grad_aux_as_jax():
    f = lambda m: m.vmap(lambda x: m.grad(_f(m, {}), has_aux=True)(x)[1])  # noqa: E731
    _same_leaves(f(irax)(np.stack([X, X])), f(jax)(np.stack([X, X])))


def test_aux_must_be_a_pair():
    for module in (irax, jax):
        with pytest.raises(TypeError, match="two-element tuple"):
            module.grad(lambda x: (x ** 2).sum(), has_aux=True)(X)


def test_a_jit_nested_in_grad_makes_its_outputs_arrays_as_jax():
    """grad(jit(f), has_aux=True): a jit inside a trace returned its Python
    outputs raw (a string passed where JAX's jit raises; an int stayed one)."""
    for m in (irax, jax):
        aux = m.grad(m.jit(lambda x: ((x ** 2).sum(), 3)), has_aux=True)(X)[1]
        assert (type(aux).__name__, aux.dtype, aux.aval.weak_type) == ("Array" if m is irax else "ArrayImpl",
                                                                       np.dtype(np.int32), True)
        with pytest.raises(TypeError, match=r"returned a value of type <class 'str'> at output component \[1\], "
                                            "which is not a valid JAX type"):
            m.grad(m.jit(lambda x: ((x ** 2).sum(), "s")), has_aux=True)(X)
