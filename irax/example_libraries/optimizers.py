"""`irax.example_libraries.optimizers`, as `jax.example_libraries.optimizers`:
an optimizer is a triple of functions over pytrees of parameters,

    opt_init(params) -> opt_state
    opt_update(step, grads, opt_state) -> opt_state
    get_params(opt_state) -> params

made by the `optimizer` decorator from a triple written for one array.
opt_state is an `OptimizerState`, a pytree, so a whole update step jits:

    opt_init, opt_update, get_params = optimizers.adam(1e-3)
    opt_state = opt_init(params)

    @irax.jit
    def step(i, opt_state, batch):
        return opt_update(i, irax.grad(loss)(get_params(opt_state), batch), opt_state)

A step size is a number or a *schedule*, a function of the step index i
(`exponential_decay`, `piecewise_constant`, ...). In each rule below x is
a parameter, g its gradient and a(i) the step size at step i.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import irax.numpy as jnp
from irax import tree_util
from irax.typing import Array, ArrayLike

__all__ = ["JoinPoint", "Optimizer", "OptimizerState", "adagrad", "adam", "adamax", "clip_grads", "constant",
           "exponential_decay", "inverse_time_decay", "l2_norm", "make_schedule", "momentum", "nesterov",
           "optimizer", "pack_optimizer_state", "piecewise_constant", "polynomial_decay", "rmsprop",
           "rmsprop_momentum", "sgd", "sm3", "unpack_optimizer_state"]

Params = Any  # a pytree of arrays
State = Any  # one parameter's state, a pytree
Updates = Params  # gradients: the parameters' pytree
Step = int
Schedule = Callable[[Step], ArrayLike]


class OptimizerState(NamedTuple):
    """The state of every parameter: `packed_state[k]` is the leaves of
    parameter k's state, `subtree_defs[k]` their structure and `tree_def`
    the parameters'. A pytree whose only children are the state leaves."""
    packed_state: tuple
    tree_def: tree_util.PyTreeDef
    subtree_defs: tuple


tree_util.register_pytree_node(
    OptimizerState,
    lambda state: ((state.packed_state,), (state.tree_def, state.subtree_defs)),
    lambda defs, children: OptimizerState(children[0], *defs))


InitFn = Callable[[Params], OptimizerState]
UpdateFn = Callable[[Step, Updates, OptimizerState], OptimizerState]
ParamsFn = Callable[[OptimizerState], Params]


class Optimizer(NamedTuple):
    """An (init_fn, update_fn, params_fn) triple."""
    init_fn: InitFn
    update_fn: UpdateFn
    params_fn: ParamsFn


def _flatten_states(states):
    """(leaves, structures) of each state, two tuples (JAX's unzip2: the
    OptimizerState's pytree structure is JAX's)."""
    leaves, defs = zip(*map(tree_util.tree_flatten, states)) if states else ((), ())
    return tuple(leaves), tuple(defs)


def optimizer(opt_maker: Callable[..., tuple[Callable, Callable, Callable]]) -> Callable[..., Optimizer]:
    """Lifts an optimizer written for one array, `opt_maker(*args) ->
    (init, update, get_params)`, to one over pytrees of arrays: each leaf of
    the parameters gets its own state (any pytree), updated by `update(i,
    g, state)` with that leaf's gradient."""
    @functools.wraps(opt_maker)
    def tree_opt_maker(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        @functools.wraps(init)
        def tree_init(x0_tree):
            x0_flat, tree = tree_util.tree_flatten(x0_tree)
            states_flat, subtrees = _flatten_states([init(x0) for x0 in x0_flat])
            return OptimizerState(states_flat, tree, subtrees)

        @functools.wraps(update)
        def tree_update(i, grad_tree, opt_state):
            states_flat, tree, subtrees = opt_state
            grad_flat, grad_tree_def = tree_util.tree_flatten(grad_tree)
            if grad_tree_def != tree:
                raise TypeError("optimizer update function was passed a gradient tree that did not match the "
                                f"parameter tree structure with which it was initialized: parameter tree {tree} "
                                f"and grad tree {grad_tree_def}.")
            states = map(tree_util.tree_unflatten, subtrees, states_flat)
            new_flat, new_subtrees = _flatten_states([update(i, g, s) for g, s in zip(grad_flat, states)])
            for before, after in zip(subtrees, new_subtrees):
                if before != after:
                    raise TypeError("optimizer update function produced an output structure that did not match "
                                    f"its input structure: input {before} and output {after}.")
            return OptimizerState(new_flat, tree, subtrees)

        @functools.wraps(get_params)
        def tree_get_params(opt_state):
            states_flat, tree, subtrees = opt_state
            return tree_util.tree_unflatten(tree, [get_params(tree_util.tree_unflatten(d, s))
                                                   for d, s in zip(subtrees, states_flat)])
        return Optimizer(tree_init, tree_update, tree_get_params)
    return tree_opt_maker


def _parameter(state):
    return state[0]


@optimizer
def sgd(step_size: float | Schedule) -> Optimizer:
    """Stochastic gradient descent: x <- x - a(i) g."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0

    def update(i, g, x):
        return x - step_size(i) * g

    def get_params(x):
        return x
    return Optimizer(init, update, get_params)


@optimizer
def momentum(step_size: float | Schedule, mass: float) -> Optimizer:
    """SGD with momentum: v <- mass v + g (v from 0), x <- x - a(i) v."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * velocity, velocity
    return Optimizer(init, update, _parameter)


@optimizer
def nesterov(step_size: float | Schedule, mass: float) -> Optimizer:
    """SGD with Nesterov momentum: v <- mass v + g, x <- x - a(i) (mass v + g)."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * (mass * velocity + g), velocity
    return Optimizer(init, update, _parameter)


@optimizer
def adagrad(step_size: float | Schedule, momentum: float = 0.9) -> Optimizer:
    """Adagrad (Duchi et al. 2011) with momentum:

        G <- G + g^2
        m <- (1 - momentum) g / sqrt(G) + momentum m      (g / sqrt(G) = 0 where G = 0)
        x <- x - a(i) m
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + jnp.square(g)
        g_sq_inv_sqrt = jnp.where(g_sq > 0, 1. / jnp.sqrt(g_sq), 0.0)
        m = (1. - momentum) * (g * g_sq_inv_sqrt) + momentum * m
        return x - step_size(i) * m, g_sq, m
    return Optimizer(init, update, _parameter)


@optimizer
def rmsprop(step_size: float | Schedule, gamma: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """RMSProp: s <- gamma s + (1 - gamma) g^2, x <- x - a(i) g / sqrt(s + eps)."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, avg_sq_grad = state
        avg_sq_grad = avg_sq_grad * gamma + jnp.square(g) * (1. - gamma)
        return x - step_size(i) * g / jnp.sqrt(avg_sq_grad + eps), avg_sq_grad
    return Optimizer(init, update, _parameter)


@optimizer
def rmsprop_momentum(step_size: float | Schedule, gamma: float = 0.9, eps: float = 1e-8,
                     momentum: float = 0.9) -> Optimizer:
    """RMSProp with momentum: s as in `rmsprop`, then

        m <- momentum m + a(i) g / sqrt(s + eps),   x <- x - m
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, avg_sq_grad, mom = state
        avg_sq_grad = avg_sq_grad * gamma + jnp.square(g) * (1. - gamma)
        mom = momentum * mom + step_size(i) * g / jnp.sqrt(avg_sq_grad + eps)
        return x - mom, avg_sq_grad, mom
    return Optimizer(init, update, _parameter)


@optimizer
def adam(step_size: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma and Ba 2014):

        m <- (1 - b1) g + b1 m,   v <- (1 - b2) g^2 + b2 v     (moments, from 0)
        x <- x - a(i) m' / (sqrt(v') + eps)    m' = m / (1 - b1^(i+1)), v' = v / (1 - b2^(i+1))
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * jnp.square(g) + b2 * v
        mhat = m / (1 - jnp.asarray(b1, m.dtype) ** (i + 1))  # the bias corrections
        vhat = v / (1 - jnp.asarray(b2, m.dtype) ** (i + 1))
        return x - step_size(i) * mhat / (jnp.sqrt(vhat) + eps), m, v
    return Optimizer(init, update, _parameter)


@optimizer
def adamax(step_size: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """AdaMax, Adam under the infinity norm:

        m <- (1 - b1) g + b1 m,   u <- max(b2 u, |g|)
        x <- x - a(i) / (1 - b1^(i+1)) * m / (u + eps)
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = jnp.maximum(b2 * u, jnp.abs(g))
        return x - (step_size(i) / (1 - jnp.asarray(b1, m.dtype) ** (i + 1))) * m / (u + eps), m, u
    return Optimizer(init, update, _parameter)


@optimizer
def sm3(step_size: float | Schedule, momentum: float = 0.9) -> Optimizer:
    """SM3 (Anil et al. 2019), Adagrad with one accumulator vector v_k per
    axis k of x (x of shape () taken as (1,)) instead of one per element:

        G = min_k v_k (each broadcast along its axis) + g^2
        m <- (1 - momentum) g / sqrt(G) + momentum m       (0 where G = 0)
        x <- x - a(i) m,   v_k <- max of G over every axis but k
    """
    step_size = make_schedule(step_size)

    def along(axis, ndim, v):
        return v[tuple(slice(None) if k == axis else None for k in range(ndim))]

    def init(x0):
        x = jnp.atleast_1d(x0)
        return x, jnp.zeros_like(x), [jnp.zeros(n, dtype=x.dtype) for n in x.shape], jnp.shape(x0)

    def update(i, g, state):
        x, m, vs, x_shape = state
        accum = functools.reduce(jnp.minimum, [along(k, g.ndim, v) for k, v in enumerate(vs)]) + jnp.square(g)
        accum_inv_sqrt = jnp.where(accum > 0, 1. / jnp.sqrt(accum), 0)
        m = (1. - momentum) * (g * accum_inv_sqrt) + momentum * m
        vs = [accum.max(tuple(a for a in range(x.ndim) if a != k)) for k in range(x.ndim)]
        return x - step_size(i) * m, m, vs, x_shape

    def get_params(state):
        x, _, _, x_shape = state
        return x.reshape(x_shape)
    return Optimizer(init, update, get_params)


# Step-size schedules: functions of the step index i.

def constant(step_size: ArrayLike) -> Schedule:
    """a(i) = step_size."""
    def schedule(i):
        return step_size
    return schedule


def exponential_decay(step_size: ArrayLike, decay_steps: ArrayLike, decay_rate: ArrayLike) -> Schedule:
    """a(i) = step_size * decay_rate^(i / decay_steps)."""
    def schedule(i):
        return step_size * decay_rate ** (i / decay_steps)
    return schedule


def inverse_time_decay(step_size: ArrayLike, decay_steps: ArrayLike, decay_rate: ArrayLike,
                       staircase: bool = False) -> Schedule:
    """a(i) = step_size / (1 + decay_rate * i / decay_steps), with
    floor(i / decay_steps) when `staircase`."""
    def schedule(i):
        steps = jnp.floor(i / decay_steps) if staircase else i / decay_steps
        return step_size / (1 + decay_rate * steps)
    return schedule


def polynomial_decay(step_size: ArrayLike, decay_steps: ArrayLike, final_step_size: ArrayLike,
                     power: ArrayLike = 1.0) -> Schedule:
    """From step_size to final_step_size over decay_steps, then constant:
    a(i) = (1 - min(i, decay_steps) / decay_steps)^power * (step_size - final_step_size) + final_step_size."""
    def schedule(step_num):
        step_num = jnp.minimum(step_num, decay_steps)
        return (1 - step_num / decay_steps) ** power * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries: Any, values: Any) -> Schedule:
    """a(i) = values[number of boundaries below i]: values[0] up to
    boundaries[0] (inclusive), values[1] up to boundaries[1], ..."""
    boundaries, values = jnp.array(boundaries), jnp.array(values)
    if not boundaries.ndim == values.ndim == 1:
        raise ValueError("boundaries and values must be sequences")
    if not boundaries.shape[0] == values.shape[0] - 1:
        raise ValueError("boundaries length must be one shorter than values length")

    def schedule(i):
        return values[jnp.sum(i > boundaries)]
    return schedule


def make_schedule(scalar_or_schedule: ArrayLike | Schedule) -> Schedule:
    """A schedule as itself, a scalar as the `constant` schedule; anything
    else is a TypeError naming its type."""
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if jnp.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise TypeError(type(scalar_or_schedule))


def l2_norm(tree: Params) -> Array:
    """sqrt(sum of x . x over the leaves x): the pytree's l2 norm."""
    return jnp.sqrt(sum(jnp.vdot(x, x) for x in tree_util.tree_leaves(tree)))


def clip_grads(grad_tree: Params, max_norm: ArrayLike) -> Params:
    """The gradients scaled by max_norm / l2_norm(grad_tree) where that
    norm is not below max_norm (the leaves together, not each)."""
    norm = l2_norm(grad_tree)
    return tree_util.tree_map(lambda g: jnp.where(norm < max_norm, g, g * (max_norm / norm)), grad_tree)


class JoinPoint:
    """A leaf of `unpack_optimizer_state`'s pytree holding one parameter's
    state (itself a pytree); iterable, as pytrees of arrays are."""

    def __init__(self, subtree: Any):
        self.subtree = subtree

    def __iter__(self):
        yield self.subtree


def unpack_optimizer_state(opt_state: OptimizerState) -> Any:
    """The state as the parameters' pytree with a `JoinPoint` holding each
    parameter's state at its leaf (a form to serialize)."""
    states_flat, tree_def, subtree_defs = opt_state
    return tree_util.tree_unflatten(tree_def, [JoinPoint(tree_util.tree_unflatten(d, s))
                                               for d, s in zip(subtree_defs, states_flat)])


def pack_optimizer_state(marked_pytree: Any) -> OptimizerState:
    """The `OptimizerState` that `unpack_optimizer_state` made `marked_pytree` from."""
    sentinels, tree_def = tree_util.tree_flatten(marked_pytree)
    assert all(isinstance(s, JoinPoint) for s in sentinels)
    states_flat, subtree_defs = _flatten_states([s.subtree for s in sentinels])
    return OptimizerState(states_flat, tree_def, subtree_defs)
