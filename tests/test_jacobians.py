"""jacrev, jacfwd and hessian on pytrees, against JAX's values, structures and
dtypes (argnums, has_aux, dict/tuple arguments and outputs, allow_int,
holomorphic), their dtype errors, and jvp's and vjp's checks of tangents and
cotangents (JAX's error types and wording). Few, small shapes: each distinct
one compiles a program."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")
jjnp = jax.numpy

X = np.array([0.5, -1.0], np.float32)
M = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
Z = np.array([1 + 2j, -1j], np.complex64)


def check_like_jax(ours, theirs):
    """Same tree structure, and leaf by leaf the same shape, dtype and weak type, and close values."""
    ours_np = irax.tree_util.tree_map(np.asarray, ours)
    assert jax.tree_util.tree_structure(ours_np) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert (a.shape, a.dtype, getattr(a, "weak_type", False)) == (b.shape, b.dtype, getattr(b, "weak_type", False))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def both(make):
    """`make(lib)` for irax and for JAX: the same function written once."""
    return make(irax), make(jax)


def _dict_fn(lib):
    # A dict argument holding a tuple with a scalar leaf; a dict output.
    return lambda d: {"u": lib.numpy.sin(d["a"]) * d["b"][0], "v": lib.numpy.sum(d["a"] ** 2) * d["b"][1]}


MODES = ["jacrev", "jacfwd"]


@pytest.mark.parametrize("mode", MODES)
def test_dict_argument_and_dict_output(mode):
    d = {"a": X, "b": (M, 1.5)}
    ours, theirs = both(_dict_fn)
    check_like_jax(getattr(irax, mode)(ours)(d), getattr(jax, mode)(theirs)(d))


@pytest.mark.parametrize("mode", MODES)
def test_tuple_argnums_with_a_scalar_and_a_keyword_argument(mode):
    ours, theirs = both(lambda lib: lambda a, s, t, scale=1.0: (lib.numpy.tanh(a) * s * scale, a * t))
    check_like_jax(getattr(irax, mode)(ours, argnums=(0, 2))(X, 2.0, 3.0, scale=0.5),
                   getattr(jax, mode)(theirs, argnums=(0, 2))(X, 2.0, 3.0, scale=0.5))
    # A list of argnums is a sequence too: a tuple of one Jacobian.
    check_like_jax(getattr(irax, mode)(ours, argnums=[1])(X, 2.0, 3.0), getattr(jax, mode)(theirs, argnums=[1])(X, 2.0, 3.0))


@pytest.mark.parametrize("mode", MODES)
def test_has_aux(mode):
    ours, theirs = both(lambda lib: lambda a: (lib.numpy.sin(a), {"aux": a * 2}))
    check_like_jax(getattr(irax, mode)(ours, has_aux=True)(X), getattr(jax, mode)(theirs, has_aux=True)(X))


@pytest.mark.parametrize("mode", MODES)
def test_leaf_dtypes_and_weak_types_follow_jax(mode):
    """jacrev's leaves take their input's dtype and weak type, jacfwd's their output's."""
    check_like_jax(getattr(irax, mode)(lambda x: x)(2.0), getattr(jax, mode)(lambda x: x)(2.0))
    check_like_jax(getattr(irax, mode)(lambda x: x.astype(jnp.float16))(2.0),
                   getattr(jax, mode)(lambda x: x.astype(jjnp.float16))(2.0))


@pytest.mark.parametrize("mode", MODES)
def test_size_zero_inputs_and_outputs(mode):
    empty = np.zeros(0, np.float32)
    check_like_jax(getattr(irax, mode)(lambda x: jnp.sum(x) + 1.0)(empty),
                   getattr(jax, mode)(lambda x: jjnp.sum(x) + 1.0)(empty))
    check_like_jax(getattr(irax, mode)(lambda x: (x[:0], 2 * x), has_aux=True)(X),
                   getattr(jax, mode)(lambda x: (x[:0], 2 * x), has_aux=True)(X))


def test_hessian_of_a_function_of_a_dict():
    ours, theirs = both(lambda lib: lambda d: lib.numpy.sum(lib.numpy.sin(d["a"]) * d["c"]) * d["c"])
    d = {"a": X, "c": 1.5}
    check_like_jax(irax.hessian(ours)(d), jax.hessian(theirs)(d))


def test_hessian_with_aux_and_tuple_argnums():
    ours, theirs = both(lambda lib: lambda a, b: (lib.numpy.sum(a ** 3 * b), a))
    check_like_jax(irax.hessian(ours, argnums=(0, 1), has_aux=True)(X, X[::-1].copy()),
                   jax.hessian(theirs, argnums=(0, 1), has_aux=True)(X, X[::-1].copy()))


def test_hessian_of_a_windowed_sum():
    # hessian is jacfwd of jacrev, whose vmap of size 1 (a scalar output's one row)
    # IREE failed to compile beside the windowed sums' transposes ("size mismatch")
    ours, theirs = both(lambda lib: lambda m: lib.numpy.sum(
        lib.lax.reduce_window(m, 0.0, lib.lax.add, (1, 2), (1, 1), "VALID") ** 3))
    check_like_jax(irax.hessian(ours)(M), jax.hessian(theirs)(M))


def test_jacrev_allow_int_gives_integer_inputs_zeros():
    n = np.arange(2, dtype=np.int32)
    check_like_jax(irax.jacrev(lambda x, k: x * k, argnums=(0, 1), allow_int=True)(X, n),
                   jax.jacrev(lambda x, k: x * k, argnums=(0, 1), allow_int=True)(X, n))


@pytest.mark.parametrize("mode", MODES)
def test_holomorphic(mode):
    check_like_jax(getattr(irax, mode)(lambda z: z * z, holomorphic=True)(Z),
                   getattr(jax, mode)(lambda z: z * z, holomorphic=True)(Z))


def test_jacobian_of_python_control_flow_on_a_dict():
    """Branching on a value: the Jacobian of the path taken (tape.py), structured as JAX's."""
    def f(d):
        return {"y": d["a"] * 2.0} if float(d["c"]) > 0 else {"y": d["a"] * d["c"]}

    d = {"a": X, "c": 1.5}
    for mode in MODES:  # JAX cannot trace f: against the branch taken
        check_like_jax(getattr(irax, mode)(f)(d), getattr(jax, mode)(lambda d: {"y": d["a"] * 2.0})(d))


def _errors_like_jax(ours, theirs):
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(want.type) as got:
        ours()
    assert str(got.value) == str(want.value)


N = np.arange(2, dtype=np.int32)

DTYPE_ERRORS = {  # (irax call, JAX call): errors raised while tracing, before any compile
    "jacrev_integer_input": (lambda: irax.jacrev(lambda x: x)(N), lambda: jax.jacrev(lambda x: x)(N)),
    "jacfwd_integer_input": (lambda: irax.jacfwd(lambda x: x)(N), lambda: jax.jacfwd(lambda x: x)(N)),
    "jacrev_integer_output": (lambda: irax.jacrev(lambda x: x.astype(jnp.int32))(X),
                              lambda: jax.jacrev(lambda x: x.astype(jjnp.int32))(X)),
    "jacrev_complex_output": (lambda: irax.jacrev(lambda x: x * 1j)(X), lambda: jax.jacrev(lambda x: x * 1j)(X)),
    "jacrev_holomorphic_real_input": (lambda: irax.jacrev(lambda x: x, holomorphic=True)(X),
                                      lambda: jax.jacrev(lambda x: x, holomorphic=True)(X)),
    "jacfwd_holomorphic_real_input": (lambda: irax.jacfwd(lambda x: x, holomorphic=True)(X),
                                      lambda: jax.jacfwd(lambda x: x, holomorphic=True)(X)),
    "jacfwd_holomorphic_real_output": (lambda: irax.jacfwd(jnp.real, holomorphic=True)(Z),
                                       lambda: jax.jacfwd(jjnp.real, holomorphic=True)(Z)),
    # grad shares jacrev's output check (its integer-output message lacked JAX's last sentence).
    "grad_integer_output": (lambda: irax.grad(lambda x: (x * 2).astype(jnp.int32))(1.0),
                            lambda: jax.grad(lambda x: (x * 2).astype(jjnp.int32))(1.0)),
    "argnums_out_of_range": (lambda: irax.jacfwd(lambda x: x, argnums=(0, 1))(X),
                             lambda: jax.jacfwd(lambda x: x, argnums=(0, 1))(X)),
}


@pytest.mark.parametrize("case", DTYPE_ERRORS)
def test_jacobian_errors_like_jax(case):
    _errors_like_jax(*DTYPE_ERRORS[case])


def _cases(lib):
    np_ = lib.numpy
    return {
        "jvp_tangent_shape": lambda: lib.jvp(np_.sin, (1.0,), (np_.ones(2),)),
        "jvp_tangent_dtype": lambda: lib.jvp(np_.sin, (1.0,), (np_.float16(1),)),
        "jvp_python_int_tangent": lambda: lib.jvp(np_.sin, (1.0,), (1,)),
        "jvp_integer_primal_needs_float0": lambda: lib.jvp(lambda x, n: x * n, (1.0, 2), (1.0, 1)),
        "jvp_structure": lambda: lib.jvp(np_.sin, (1.0,), [1.0]),
        "jvp_not_sequences": lambda: lib.jvp(np_.sin, 1.0, 1.0),
        "vjp_cotangent_shape": lambda: lib.vjp(np_.sin, np_.ones(2))[1](np_.ones(3)),
        "vjp_cotangent_dtype": lambda: lib.vjp(np_.sin, np_.ones(2))[1](np_.ones(2, np_.float16)),
        "vjp_cotangent_structure": lambda: lib.vjp(lambda x: (x, 2 * x), np_.ones(2))[1]([np_.ones(2), np_.ones(2)]),
    }


@pytest.mark.parametrize("case", _cases(irax))
def test_jvp_and_vjp_check_their_tangents_like_jax(case):
    if case == "vjp_cotangent_structure":  # JAX's message names the function's source line; the type is the same
        with pytest.raises(ValueError, match="unexpected tree structure"):
            _cases(irax)[case]()
        return
    _errors_like_jax(_cases(irax)[case], _cases(jax)[case])


def test_float0_tangents_and_cotangents_of_integer_values():
    """An integer primal's tangent and an integer output's cotangent are float0, as in JAX
    (the cotangent of an integer output used to reach the AD pass and fail there)."""
    zero = np.zeros((), jax.dtypes.float0)
    check_like_jax(irax.jvp(lambda x, n: x * n, (1.0, 2), (1.0, zero)),
                   jax.jvp(lambda x, n: x * n, (1.0, 2), (1.0, zero)))
    to_int = lambda x: (x * 2).astype(jnp.int32)  # noqa: E731
    check_like_jax(irax.vjp(to_int, 1.0)[1](zero), jax.vjp(lambda x: (x * 2).astype(jjnp.int32), 1.0)[1](zero))


def test_jacfwd_of_integer_outputs_is_zeros_of_their_dtype():
    """jvp's float0 tangents of integer outputs become zeros of the output's dtype and
    weak type in jacfwd, as JAX's unravel casts them (they used to reach the unravel
    as float0 and raise TypeError). (JAX 0.10.2 fails on boolean outputs there.)"""
    ours, theirs = both(lambda lib: lambda x: (x, 1, lib.numpy.arange(3)))
    check_like_jax(irax.jacfwd(ours)(1.0), jax.jacfwd(theirs)(1.0))
    check_like_jax(irax.jacfwd(ours)(X), jax.jacfwd(theirs)(X))
    ours, theirs = both(lambda lib: lambda x: ((x * 2, lib.numpy.arange(3)), x))
    check_like_jax(irax.jacfwd(ours, has_aux=True)(X), jax.jacfwd(theirs, has_aux=True)(X))


def _weak_primal_functions(lib):
    xs = np.arange(3, dtype=np.float32)
    return {"promoted": lambda x: x * lib.numpy.float32(2.0),  # weak x promoted to float32: a strong output
            "scan_carry": lambda c: lib.lax.scan(lambda h, x: (h * c + x, h), 0.0, xs)[0],
            "astype": lambda x: x.astype(lib.numpy.float32),
            "weak_ops": lambda x: lib.numpy.sin(x) * 2.0}  # weak all the way: a weak output


@pytest.mark.parametrize("name", ["promoted", "scan_carry", "astype", "weak_ops"])
@pytest.mark.parametrize("cotangent", [np.float32(1.5), 1.5], ids=["strong", "weak"])
def test_vjp_cotangent_weak_types_of_a_weak_primal_as_jax(name, cotangent):
    """A weak primal's cotangent is weak where the output was made strong from
    it by a promotion (whose transpose converts the cotangent back to weak),
    whatever the incoming cotangent; through weak ops alone, it takes the
    incoming cotangent's type. (It was strong for every strong cotangent.)"""
    ours, theirs = _weak_primal_functions(irax)[name], _weak_primal_functions(jax)[name]
    check_like_jax(irax.vjp(ours, 2.0)[1](cotangent), jax.vjp(theirs, 2.0)[1](cotangent))
    check_like_jax(irax.grad(ours)(2.0), jax.grad(theirs)(2.0))
