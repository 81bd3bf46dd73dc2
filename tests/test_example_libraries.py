"""irax.example_libraries against jax.example_libraries: each stax layer's
output shape, parameters and outputs for the same key and input, each
optimizer's first steps for the same gradients, the schedules, the
optimizer state as a pytree (pack/unpack, jit)."""
import inspect

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.example_libraries import optimizers, stax

jax = pytest.importorskip("jax")
from jax.example_libraries import optimizers as jax_optimizers  # noqa: E402
from jax.example_libraries import stax as jax_stax  # noqa: E402

X = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype(np.float32)  # one input for every layer
TOL = 2e-5


def close(ours, theirs, tol=TOL):
    ours, theirs = irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# name -> layer, made from either library's stax module.
LAYERS = {
    "Dense": lambda s: s.Dense(5),
    "Conv": lambda s: s.Conv(4, (2, 2)),
    "Conv strided SAME": lambda s: s.Conv(4, (3, 3), strides=(2, 2), padding="SAME"),
    "GeneralConv NCHW": lambda s: s.GeneralConv(("NCHW", "OIHW", "NCHW"), 2, (2, 1), padding=((1, 0), (0, 1))),
    "ConvTranspose": lambda s: s.ConvTranspose(2, (2, 2), strides=(2, 2)),
    "ConvTranspose SAME": lambda s: s.ConvTranspose(2, (3, 3), strides=(2, 1), padding="SAME"),
    "BatchNorm": lambda s: s.BatchNorm(),
    "BatchNorm scale only": lambda s: s.BatchNorm(axis=0, center=False),
    **{name: (lambda name: lambda s: getattr(s, name))(name)
       for name in ["Relu", "Tanh", "Sigmoid", "Elu", "LeakyRelu", "Softplus", "Softmax", "LogSoftmax", "Gelu",
                    "Selu", "Exp", "Flatten", "Identity"]},
    "MaxPool": lambda s: s.MaxPool((2, 2)),
    "AvgPool SAME": lambda s: s.AvgPool((3, 3), padding="SAME"),
    "SumPool strided": lambda s: s.SumPool((2, 3), strides=(2, 1)),
    "MaxPool NCHW": lambda s: s.MaxPool((2, 2), spec="NCHW"),
    "FanOut parallel FanInSum": lambda s: s.serial(s.FanOut(2), s.parallel(s.Dense(3), s.Dense(3)), s.FanInSum),
    "FanInConcat": lambda s: s.serial(s.FanOut(2), s.parallel(s.Relu, s.Identity), s.FanInConcat(axis=1)),
    "shape_dependent": lambda s: s.shape_dependent(lambda shape: s.Dense(shape[-1] + 1)),
    "Dropout": lambda s: s.Dropout(0.6),
    "Dropout test mode": lambda s: s.Dropout(0.6, mode="test"),
    "serial CNN": lambda s: s.serial(s.Conv(2, (2, 2), padding="SAME"), s.Relu, s.AvgPool((2, 2)), s.Flatten,
                                     s.Dense(3), s.LogSoftmax),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_jax(name):
    """Same key and input: the same output shape, parameters and outputs
    (the apply gets `rng=`, which only Dropout uses)."""
    init, apply = LAYERS[name](stax)
    jax_init, jax_apply = LAYERS[name](jax_stax)
    shape, params = init(irax.random.PRNGKey(1), X.shape)
    jax_shape, jax_params = jax_init(jax.random.PRNGKey(1), X.shape)
    assert tuple(shape) == tuple(jax_shape)
    close(params, jax_params)
    out = apply(params, X, rng=irax.random.PRNGKey(2))
    close(out, jax_apply(jax_params, X, rng=jax.random.PRNGKey(2)))
    assert out.shape == tuple(shape)


def test_an_unknown_batch_dimension_passes_through():
    """-1 for the batch (as JAX's examples write it) stays -1 in the output shape."""
    init, _ = stax.serial(stax.Conv(2, (3, 3), strides=(2, 2), padding="SAME"), stax.MaxPool((2, 2)),
                          stax.ConvTranspose(2, (2, 2), strides=(2, 2)), stax.Dense(3))
    assert init(irax.random.PRNGKey(0), (-1, 8, 8, 1))[0] == (-1, 3 * 2, 3 * 2, 3)  # 8 -> 4 -> 3 -> 6


@pytest.mark.parametrize("name", ["MaxPool", "AvgPool SAME"])
def test_pool_gradient_with_ties_matches_jax(name):
    """Pools pass lax.max / lax.add, which reduce_window takes as the one-op
    monoids (it once folded them as any computation: a tie then split the
    max's gradient evenly, where JAX's select-and-scatter gives the first)."""
    x = np.round(X * 2).clip(0, None)  # ReLU'd and rounded: windows with tied maxima
    (_, apply), (_, jax_apply) = LAYERS[name](stax), LAYERS[name](jax_stax)
    weights = np.arange(1, 1 + jax.eval_shape(lambda x: jax_apply((), x), x).size, dtype=np.float32)
    grad = irax.grad(lambda x: jnp.sum(apply((), x).ravel() * weights))(x)
    close(grad, jax.grad(lambda x: jax.numpy.sum(jax_apply((), x).ravel() * weights))(x))


def test_dropout_needs_a_key_as_in_jax():
    with pytest.raises(ValueError, match="Dropout layer requires apply_fun to be called with a PRNG key"):
        stax.Dropout(0.5)[1]((), X)


def test_stax_network_jits_and_differentiates():
    """A network's loss under jit and grad: its gradient as JAX's."""
    def loss(s, np_, apply, params):
        return -np_.mean(apply(params, X.reshape(2, -1)) * np.eye(2, 5, dtype=np.float32))

    make = lambda s: s.serial(s.Dense(4), s.Tanh, s.Dense(5), s.LogSoftmax)  # noqa: E731
    (init, apply), (jax_init, jax_apply) = make(stax), make(jax_stax)
    _, params = init(irax.random.PRNGKey(0), (2, 48))
    _, jax_params = jax_init(jax.random.PRNGKey(0), (2, 48))
    grads = irax.jit(irax.grad(lambda p: loss(stax, jnp, apply, p)))(params)
    close(grads, jax.grad(lambda p: loss(jax_stax, jax.numpy, jax_apply, p))(jax_params))


# name -> (args): each optimizer with a constant and a scheduled step size.
OPTIMIZERS = {
    "sgd": (0.1,), "momentum": (0.1, 0.9), "nesterov": (0.1, 0.9), "adagrad": (0.1,), "rmsprop": (0.1,),
    "rmsprop_momentum": (0.1,), "adam": (0.1,), "adamax": (0.1,), "sm3": (0.1,),
    "adam scheduled": (("exponential_decay", 0.1, 2, 0.5),), "sgd piecewise": (("piecewise_constant", [1], [0.1, 0.01]),),
    "momentum inverse": (("inverse_time_decay", 0.1, 1, 0.5), 0.9),
}
PARAMS = {"w": np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "b": (np.float32(0.5), np.ones(3, np.float32))}
GRADS = [irax.tree_util.tree_map(lambda p, k=k: np.sin(p * (k + 2) + k).astype(np.float32), PARAMS) for k in range(3)]


def _make_optimizer(module, name):
    args = tuple(getattr(module, a[0])(*a[1:]) if isinstance(a, tuple) else a for a in OPTIMIZERS[name])
    return getattr(module, name.split()[0])(*args)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_match_jax(name):
    """Three updates with the same gradients: the same parameters after each."""
    opt_init, opt_update, get_params = _make_optimizer(optimizers, name)
    jax_init, jax_update, jax_get_params = _make_optimizer(jax_optimizers, name)
    state, jax_state = opt_init(PARAMS), jax_init(PARAMS)
    close(get_params(state), jax_get_params(jax_state))
    for i, g in enumerate(GRADS):
        state, jax_state = opt_update(i, g, state), jax_update(i, g, jax_state)
        close(get_params(state), jax_get_params(jax_state))


SCHEDULES = [("constant", 0.3), ("exponential_decay", 0.3, 4, 0.5), ("inverse_time_decay", 0.3, 2, 0.5),
             ("inverse_time_decay", 0.3, 2, 0.5, True), ("polynomial_decay", 0.3, 4, 0.01, 2.0),
             ("piecewise_constant", [1, 3], [0.3, 0.1, 0.01])]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: "-".join(map(str, s)))
def test_schedule_matches_jax(schedule):
    ours = getattr(optimizers, schedule[0])(*schedule[1:])
    theirs = getattr(jax_optimizers, schedule[0])(*schedule[1:])
    close([jnp.asarray(ours(i)) for i in range(6)], [np.asarray(theirs(i)) for i in range(6)], 1e-6)


def test_schedule_and_bounds_errors_as_in_jax():
    with pytest.raises(ValueError, match="boundaries length must be one shorter than values length"):
        optimizers.piecewise_constant([1, 2], [0.1, 0.2])
    with pytest.raises(TypeError):
        optimizers.make_schedule([0.1, 0.2])


def test_update_with_another_tree_is_a_type_error():
    opt_init, opt_update, _ = optimizers.sgd(0.1)
    with pytest.raises(TypeError, match="did not match the parameter tree structure"):
        opt_update(0, [1.0, 2.0], opt_init({"a": 1.0, "b": 2.0}))


def test_optimizer_state_is_a_pytree_and_round_trips():
    """The state's leaves are the per-parameter state arrays (so jit takes
    it); unpack gives a JoinPoint per parameter, pack brings back the state."""
    opt_init, opt_update, get_params = optimizers.adam(0.1)
    state = opt_update(0, GRADS[0], opt_init(PARAMS))
    assert len(irax.tree_util.tree_leaves(state)) == 3 * 3
    marked = optimizers.unpack_optimizer_state(state)
    assert all(isinstance(j, optimizers.JoinPoint) for j in irax.tree_util.tree_leaves(marked))
    again = optimizers.pack_optimizer_state(marked)
    assert irax.tree_util.tree_structure(again) == irax.tree_util.tree_structure(state)
    close(irax.tree_util.tree_leaves(again), irax.tree_util.tree_leaves(state), 0)


def test_optimizer_state_has_jax_s_structure():
    """packed_state is a tuple of per-parameter lists, as JAX's (a list before):
    the printed structures are equal, and so code that matches on them."""
    ours = optimizers.momentum(0.1, 0.9)[0](PARAMS)
    theirs = jax_optimizers.momentum(0.1, 0.9)[0](PARAMS)
    assert type(ours.packed_state) is type(theirs.packed_state) is tuple
    assert str(irax.tree_util.tree_structure(ours)) == str(jax.tree_util.tree_structure(theirs))


@pytest.mark.parametrize("name", ["momentum inverse", "adam scheduled", "sgd piecewise"])
def test_jitted_update_step_matches_eager_and_traces_once(name):
    """The step index traced: the schedules and Adam's bias corrections of a traced i."""
    opt_init, opt_update, get_params = _make_optimizer(optimizers, name)
    traces = []

    @irax.jit
    def step(i, state, grads):
        traces.append(i)
        return opt_update(i, grads, state)

    state = eager = opt_init(PARAMS)
    for i, g in enumerate(GRADS):
        state, eager = step(i, state, g), opt_update(i, g, eager)
        close(get_params(state), get_params(eager), 1e-6)
    assert len(traces) == 1
    assert isinstance(state, optimizers.OptimizerState)


def test_l2_norm_and_clip_grads_match_jax():
    close(optimizers.l2_norm(PARAMS), jax_optimizers.l2_norm(PARAMS))
    for max_norm in (0.5, 100.0):
        close(optimizers.clip_grads(PARAMS, max_norm), jax_optimizers.clip_grads(PARAMS, max_norm))


@pytest.mark.parametrize("module,jax_module", [(stax, jax_stax), (optimizers, jax_optimizers)], ids=["stax", "optimizers"])
def test_every_name_has_jax_s_parameters(module, jax_module):
    """Each public name exists in JAX's module; each function takes JAX's
    parameters, by name and default (the defaults' values as repr'd numbers)."""
    for name in module.__all__:
        ours, theirs = getattr(module, name), getattr(jax_module, name)
        if not callable(ours) or isinstance(ours, type):
            continue
        ours, theirs = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(ours) == list(theirs), name
        for p in ours:
            default, jax_default = ours[p].default, theirs[p].default
            if isinstance(jax_default, (int, float, str, tuple, type(None))):
                assert default == jax_default, (name, p)
