"""`grad`, `value_and_grad`, `vjp` and `jvp`: differentiation as a pass over MLIR.

Inside a trace, each comes down to one step, `_call_derivative`:

    1. trace `fun` into its own `func.func` (staging.trace_arguments);
    2. copy it into the enclosing trace's module as a private @f, declare
       its derivative @f_vjp (or @f_jvp), and call that;
    3. the `differentiate` pass (transforms/ad/differentiate.py), first in
       the pipeline, defines the declared derivatives from the module alone.

Each transformation is one staged call (staging.staged_call): under a trace
it nests; called eagerly, `grad(f)(x)` traces `lambda x: grad(f)(x)`,
compiles it once per argument signature and runs it, so a training loop
does not retrace or recompile.
`grad(grad(f))` is the same step applied twice: the pass differentiates the
inner derivative first, and then the ops it is made of.
"""
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import irax.numpy as jnp
from irax import tree_util
from iree.compiler import ir
from iree.compiler.dialects import func

from irax.frontend import core, dtypes, lowering, refs, shapes, staging, tape
from irax.frontend.extended import is_extended, physical
from irax.frontend.jit import jit
from irax.frontend.lax_structural import slice_in_dim
from irax.frontend.numpy.util import asarray, convert, is_array
from irax.frontend.primitives.elementwise import convert_element_type
from irax.frontend.vmap import vmap
from irax.frontend.vjp_function import VJP
from irax.ir import mlir
from irax.transforms.ad.differentiate import declare, inline_and_check_callbacks


def _argnums_tuple(argnums, n_args, jacobian=False):
    """`argnums` (an int or a sequence of ints) as a tuple of indices of the
    positional arguments, or JAX's error (grad's, or jacrev/jacfwd's)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if jacobian and not -n_args <= i < n_args:
            raise ValueError("Positional argument indices, e.g. for `static_argnums`, must have value greater than "
                             f"or equal to -len(args) and less than len(args), but got value {i} for len(args) == "
                             f"{n_args}.")
        if not -n_args <= i < n_args:
            raise TypeError(
                f"differentiating with respect to argnums={argnums} requires at least {max(nums) + 1} "
                f"positional arguments to be passed by the caller, but got only {n_args} positional arguments."
            )
    return tuple(i % n_args for i in nums)


def _check_inexact(arguments, argnums, fn_name, holomorphic=False, allow_int=False):
    for i in argnums:
        if len(arguments.dynamic_indices(i)) != arguments.arg_trees[i].num_leaves:
            raise TypeError(f"{fn_name}: argument {i} to differentiate contains leaves that are not arrays or numbers")
        # (a key array's one data leaf has its place: the key's dtype is the one JAX names)
        for k, leaf in zip(arguments.dynamic_indices(i), tree_util.tree_leaves(arguments.args[i])):
            dtype = leaf.dtype if is_extended(leaf) else arguments.dynamic[k].dtype
            if holomorphic and not dtypes.issubdtype(dtype, np.complexfloating):
                raise TypeError(f"{fn_name} with holomorphic=True requires inputs with complex dtype, "
                                f"but got {dtype.name}.")
            if dtypes.tangent_dtype(dtype) == dtypes.float0 and not allow_int:
                raise TypeError(
                    f"{fn_name} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
                    f"np.inexact), but got {dtype.name}. If you want to use Boolean- or integer-valued inputs, "
                    "use vjp or set allow_int to True."
                )


def _check_real_output(name, holomorphic, aval):
    """JAX's check of an output of a reverse-mode derivative (grad, jacrev)."""
    if holomorphic and not dtypes.is_complex(aval.dtype):
        raise TypeError(f"{name} with holomorphic=True requires outputs with complex dtype, but got {aval.dtype.name}.")
    if not holomorphic and not dtypes.is_float(aval.dtype):
        raise TypeError(f"{name} requires real-valued outputs (output dtype that is a sub-dtype of np.floating), but "
                        f"got {aval.dtype.name}. " + (
                            "For holomorphic differentiation, pass holomorphic=True. For differentiation of "
                            "non-holomorphic functions involving complex outputs, use jax.vjp directly."
                            if dtypes.is_complex(aval.dtype) else
                            "For differentiation of functions with integer outputs, use jax.vjp directly."))


def _float0_for_integers(primal, gradient):
    """`gradient` (or a tangent) with float0 zeros where `primal` has integer
    or boolean leaves (the traced gradient has None there, a traced tangent
    zeros of the leaf's dtype: they have no derivative)."""
    def leaf(x, g):
        no_tangent = g is None or dtypes.tangent_dtype(shapes.typeof(x).dtype) == dtypes.float0
        return np.zeros(np.shape(x), dtypes.float0) if no_tangent else g
    return tree_util.tree_map(leaf, primal, gradient)


class _Unchanged:
    """An aux leaf that is not an array (a Python number, a string, a NumPy
    array, any object): JAX gives it back as it is. As a pytree node with no
    children and itself as aux data, it is no output of the traced program
    but part of the output's structure, which the staged program keeps:
    each call gives back the value of the call that traced it."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


tree_util.register_pytree_node(_Unchanged, lambda box: ((), box), lambda box, _: box)


def _boxed(aux):
    return tree_util.tree_map_data(lambda x: x if is_array(x) else _Unchanged(x), aux)  # (a key array's data: traced)


def _unboxed(aux):
    """aux as `fun` returned it, at the end of grad, vjp, jvp... (under jit,
    its numbers then become arrays, and a string is an error, as in JAX)."""
    return tree_util.tree_map(lambda x: x.value if isinstance(x, _Unchanged) else x, aux,
                              is_leaf=lambda x: isinstance(x, _Unchanged))


def _split_aux(fun, has_aux):
    """fun as a function returning (output, aux); aux is None without has_aux,
    its leaves that are not arrays _Unchanged."""
    if not has_aux:
        return lambda *a, **k: (fun(*a, **k), None)

    def split(*args, **kwargs):
        out = fun(*args, **kwargs)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(
                "expected function with aux output to return a two-element tuple, but got type "
                f"{type(out)} with value {out!r}"
            )
        return out[0], _boxed(out[1])

    return split


def _call_derivative(traced, operands, out_avals, wrt, seeded=None) -> list:
    """Inside a trace: call the VJP (with `seeded`; else the JVP) of
    `traced`'s function with respect to its arguments `wrt` on `operands`,
    declared here for the `differentiate` pass to define."""
    trace = core.current_trace()
    primal = staging.fresh_name("irax_ad")
    staging.add_private(traced, primal)
    values = [trace.to_tracer(x).value for x in operands]
    result_types = [mlir.tensor_type(a.shape, a.dtype) for a in out_avals]
    kind = "jvp" if seeded is None else "vjp"
    with ir.InsertionPoint(trace.module.body):
        declare(f"{primal}_{kind}", [v.type for v in values], result_types, primal, wrt, seeded)
    call = func.CallOp(result_types, ir.FlatSymbolRefAttr.get(f"{primal}_{kind}"), values)
    return [core.Tracer(trace, v, a) for v, a in zip(call.results, out_avals)]


def _vjp_inline(fun_pair, arguments, argnums, cotangents_for):
    """Inside a trace: (output, aux, gradients per argnum), where
    `fun_pair(*args, **kwargs) -> (output, aux)` and
    `cotangents_for(out_tree, out_avals)` gives the output's cotangents."""
    traced = staging.trace_arguments(fun_pair, arguments)
    pair_tree = traced.out_tree.children()
    n_out = pair_tree[0].num_leaves
    wrt = [k for i in argnums for k in arguments.dynamic_indices(i) if dtypes.is_inexact(arguments.dynamic[k].dtype)]
    try:
        cts = cotangents_for(pair_tree[0], traced.out_avals[:n_out])
    except TypeError:  # (grad's non-scalar output) JAX differentiates first: a callback's error comes first
        with traced.trace.context, ir.Location.unknown():
            inline_and_check_callbacks(traced.func, wrt)
        raise
    # Integer and boolean outputs take no cotangent (JAX's are float0, zeros).
    seeded = [dtypes.is_inexact(a.dtype) for a in traced.out_avals[:n_out]] + [False] * (len(traced.out_avals) - n_out)
    cts = [c for c, s in zip(cts, seeded) if s]
    out_avals = [a for a, s in zip(traced.out_avals[:n_out], seeded) if s]
    # As in JAX, a gradient is weakly typed only where its primal is, and
    # where no strong cotangent reaches it through weak values: a weak
    # output's cotangent comes back through weak ops with its own type (a
    # strong one makes the gradient strong), while a strong output was made
    # from the weak primal by a promotion (convert_element_type to strong),
    # whose transpose converts the cotangent back to weak. And a complex one
    # reached from real cotangents is strong: JAX's transposes of re, im and
    # abs make it from NumPy zeros, complex(t, 0).
    weak = all(c.weak_type or not a.weak_type for c, a in zip(cts, out_avals))
    real_cts = not any(dtypes.is_complex(c.dtype) for c in cts)
    grad_avals = [arguments.dynamic[k].aval.update(weak_type=weak and arguments.dynamic[k].aval.weak_type and not (
        real_cts and dtypes.is_complex(arguments.dynamic[k].dtype))) for k in wrt]
    results = _call_derivative(traced, list(arguments.dynamic) + traced.lifted + list(cts),
                               list(traced.out_avals) + grad_avals, wrt, seeded)
    flat_out, grads = results[: len(traced.out_avals)], results[len(traced.out_avals):]
    output, aux = tree_util.tree_unflatten(traced.out_tree, flat_out)
    by_leaf = dict(zip(wrt, grads))  # integer leaves get None: no gradient (float0 zeros, later)
    per_arg = [tree_util.tree_unflatten(arguments.arg_trees[i], [by_leaf.get(k) for k in arguments.dynamic_indices(i)])
               for i in argnums]
    return output, aux, per_arg


def _scalar_seed(holomorphic, out_tree, out_avals):
    """The cotangent 1.0 for a scalar float output (complex, if
    `holomorphic`), or JAX's error."""
    if out_tree.num_nodes != 1 or out_avals[0].shape != ():  # one array, not in a list or tuple
        shape = out_avals[0].shape if out_tree.num_nodes == 1 else f"a pytree {out_tree}"
        raise TypeError(f"Gradient only defined for scalar-output functions. Output had shape: {shape}.")
    _check_real_output("grad", holomorphic, out_avals[0])
    # Weak, so that grad's result is weakly typed exactly where its primal is (JAX's).
    return [convert(1.0, out_avals[0].dtype, True)]


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """`fun`'s value and its gradient with respect to positional argument(s)
    `argnums` (an int or a tuple of ints; the gradient mirrors their pytrees).
    With `has_aux`, `fun` returns `(value, aux)` and this returns
    `((value, aux), gradient)`. With `allow_int`, integer and boolean inputs
    are allowed and get gradients of dtype `float0`, as in JAX;
    `holomorphic` needs complex inputs and output and gives f'(z), as in JAX
    (a real output of complex inputs gives the conjugate of its gradient)."""
    seed = functools.partial(_scalar_seed, holomorphic)

    def differentiating(f):
        fun_pair = _split_aux(f, has_aux)

        @functools.wraps(fun)
        def differentiate(*args, **kwargs):
            nums = _argnums_tuple(argnums, len(args))
            # Python numbers not differentiated stay numbers, as in JAX (jit(grad(f),
            # static_argnums=1)(x, 3) can loop 3 times); called eagerly, staging made them arrays
            arguments = staging.Arguments(args, kwargs, static_numbers=set(range(len(args))) - set(nums))
            _check_inexact(arguments, nums, "grad", holomorphic, allow_int)
            differentiated = [k for i in nums for k in arguments.dynamic_indices(i)]  # (plumbing Refs: refs.py)
            value, aux, grads = refs.plumbing(lambda pair: _vjp_inline(pair, arguments, nums, seed), fun_pair,
                                              differentiated)
            return ((value, aux) if has_aux else value), tuple(grads)

        return differentiate

    def on_values(args, kwargs):
        """Where `fun` branches on values: op by op on a tape (tape.py); inside
        another fallback's tape (grad of grad), a staged call it records."""
        if core.current_tape() is None:
            nums = _argnums_tuple(argnums, len(args))
            return tape.value_and_grad(_split_aux(fun, has_aux), nums, seed, has_aux, args, kwargs)
        return tape.on_straight_line(differentiating, fun, (args, kwargs), args, kwargs)

    differentiate = differentiating(fun)

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args))
        value, grads = tape.staged_or_on_values(("value_and_grad", fun, argnums, has_aux, allow_int, holomorphic),
                                                differentiate, on_values, args, kwargs)
        grads = tuple(_float0_for_integers(args[i], g) for i, g in zip(nums, grads))
        value = (value[0], _unboxed(value[1])) if has_aux else value
        return value, grads[0] if isinstance(argnums, int) else grads

    value_and_grad_fun.lower = lambda *args, **kwargs: lowering.lower(value_and_grad_fun, args, kwargs)
    return value_and_grad_fun


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """The gradient of scalar-valued `fun` with respect to argument(s) `argnums`.
    With `has_aux`, returns `(gradient, aux)`; `holomorphic` and `allow_int`
    as in value_and_grad."""
    value_and_grad_fun = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        value, grads = value_and_grad_fun(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    grad_fun.lower = lambda *args, **kwargs: lowering.lower(grad_fun, args, kwargs)
    return grad_fun


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """`(fun(*primals), vjp_fn)` where `vjp_fn(cotangent)` returns the tuple of
    cotangents of the primals. (The backward function recomputes the forward
    pass: MLIR holds no tape.) As JAX's, `vjp_fn` is a pytree, so a jitted
    function may return it or take it (vjp_function.VJP): its leaves are
    the primals it recomputes from, JAX's its residuals."""
    fun_pair = _split_aux(fun, has_aux)
    key = ("vjp", fun, has_aux)
    try:
        output, aux = staging.staged_call(key + ("forward",), fun_pair, primals)
    except tape.VALUE_NEEDED:  # Python control flow on values (x[x > 0] too): vjp of the path taken
        if core.current_trace() is not None:
            raise
        fun_pair, (output, aux) = tape.straight_line(fun_pair, primals)
        key = None

    out_leaves, out_tree = tree_util.tree_flatten(output)
    data_leaves = tree_util.tree_flatten_data(output)[0]  # (a key array's data: the one leaf in its place)
    pullback = functools.partial(_pullback, key, fun_pair, out_tree, [shapes.tangent_typeof(y) for y in out_leaves],
                                 [shapes.tangent_typeof(y) for y in data_leaves])
    vjp_fn = VJP.of(pullback, primals, out_tree, getattr(fun, "__name__", "function"))
    return (output, vjp_fn, _unboxed(aux)) if has_aux else (output, vjp_fn)


def fwd_and_bwd(fun: Callable, argnums: int | Sequence[int], has_aux: bool = False,
                jitted: bool = True) -> tuple[Callable, Callable]:
    """JAX's `fwd, bwd = fwd_and_bwd(f, argnums)`: `fwd(*args)` is
    `vjp(f, *args)` (with `has_aux`, `(y, residuals, aux)`), `bwd(residuals,
    y_bar)` the cotangents of the arguments `argnums` (one, for an int),
    both jitted unless not `jitted`: the VJP function crosses jit, so the
    two passes run on the caller's schedule and each compiles once. The
    residuals are irax's VJP function of every argument (it recomputes the
    forward pass from them); bwd keeps the cotangents of `argnums`."""
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")

    def fwd(*args):
        _argnums_tuple(argnums, len(args))  # (JAX's error for an argnum out of range)
        return vjp(fun, *args, has_aux=has_aux)

    def bwd(f_vjp, outgrad):
        cts = f_vjp(outgrad)
        nums = _argnums_tuple(argnums, len(cts))
        return cts[nums[0]] if isinstance(argnums, int) else tuple(cts[i] for i in nums)

    if jitted:
        return jit(fwd), jit(bwd)
    return fwd, bwd


def _pullback(key, fun_pair, out_tree, out_avals, data_avals, primals, cotangent):
    """vjp's `vjp_fn(cotangent)`: `fun_pair`'s forward pass again, from
    `primals`, and its backward pass (one staged call under `key`),
    `cotangent` checked against the output's structure and leaves' avals."""
    argnums = tuple(range(len(primals)))

    def backward_of(fun_pair):
        def backward(*args):
            cotangent, primal_args = args[0], args[1:]

            def seeds(out_tree, out_avals):  # the cotangent was checked against the output
                return [asarray(c, a.dtype) for c, a in zip(tree_util.tree_leaves(cotangent), out_avals)]

            arguments = staging.Arguments(primal_args)
            return tuple(_vjp_inline(fun_pair, arguments, argnums, seeds)[2])
        return backward

    cotangent = _checked_cotangent(out_tree, out_avals, data_avals, cotangent)
    try:
        cotangents = staging.staged_call(key and key + ("backward",), backward_of(fun_pair),
                                         (cotangent,) + tuple(primals))
    except tape.VALUE_NEEDED:  # reverse mode needing values the forward pass did not (a fori_loop's bound)
        if core.current_trace() is not None:
            raise
        path = tape.straight_line(fun_pair, primals)[0]
        cotangents = staging.staged_call(None, backward_of(path), (cotangent,) + tuple(primals))
    return tuple(_float0_for_integers(p, c) for p, c in zip(primals, cotangents))


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple:
    """`(fun(*primals), the directional derivative along tangents)`, by the
    forward-mode pass. `tangents` has the structure, shapes and dtypes of
    `primals` (float0 for integer and boolean primals, as in JAX)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("primal and tangent arguments to jax.jvp must be tuples or lists; "
                        f"found {type(primals).__name__} and {type(tangents).__name__}.")
    tangents = _checked_tangents(primals, tangents)

    def forward_mode(f):
        return lambda p, t: _jvp_inline(f, p, t, has_aux)

    result = tape.staged_or_on_values(
        ("jvp", fun, has_aux), forward_mode(fun),
        lambda args, kwargs: tape.on_straight_line(forward_mode, fun, (tuple(primals), {}), args, kwargs),
        (tuple(primals), tuple(tangents)))
    output, tangent_out = result[:2]
    tangent_out = _float0_for_integers(output, tangent_out)
    return (output, tangent_out) + tuple(_unboxed(aux) for aux in result[2:])


def _checked_tangents(primals, tangents) -> tuple:
    """`tangents` after JAX's checks against `primals` (structure, then per
    leaf dtype and shape), with float0 leaves (those of integer primals)
    as zeros of their primal's dtype: the pass gives such inputs no tangent."""
    (p_leaves, p_tree), (t_leaves, t_tree) = tree_util.tree_flatten(primals), tree_util.tree_flatten(tangents)
    if p_tree != t_tree:
        raise TypeError("primal and tangent arguments to jax.jvp must have the same tree structure; primals have "
                        f"tree structure {p_tree} whereas tangents have tree structure {t_tree}.")
    leaves = []
    for p, t in zip(p_leaves, t_leaves):
        p_aval, t_aval = shapes.typeof(p), shapes.tangent_typeof(t)
        data_aval = shapes.typeof(physical(p))  # (a key array's: its data's, which the pass traces)
        expected = dtypes.tangent_dtype(p_aval.dtype)
        if t_aval.dtype != expected:
            raise TypeError("primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or in case "
                            "of int/bool primal dtype the tangent dtype must be float0."
                            f"Got primal dtype {p_aval.dtype} and so expected tangent dtype {expected}, but got "
                            f"tangent dtype {t_aval.dtype} instead.")
        if p_aval.shape != t_aval.shape:
            raise ValueError("jvp called with different primal and tangent shapes;"
                             f"Got primal shape {p_aval.shape} and tangent shape as {t_aval.shape}")
        leaves.append(np.zeros(data_aval.shape, data_aval.dtype) if expected == dtypes.float0 else t)
    return tuple(tree_util.tree_unflatten(t_tree, leaves))


def _checked_cotangent(out_tree, out_avals, data_avals, cotangent):
    """`cotangent` after JAX's checks against the output it is for, of
    structure `out_tree` and leaves' avals `out_avals` (the structure, then
    each leaf's shape and dtype: any dtype for an integer or boolean output,
    whose cotangent JAX takes as float0), with float0 leaves as zeros of
    their output's dtype (`data_avals`: a key array output's are its data's)."""
    ct_leaves, ct_tree = tree_util.tree_flatten(cotangent)
    if ct_tree != out_tree:
        raise ValueError(f"unexpected tree structure of argument to vjp function: got {ct_tree}, but expected to "
                         f"match {out_tree}")
    leaves = []
    for y_aval, data_aval, ct in zip(out_avals, data_avals, ct_leaves):
        ct_aval = shapes.tangent_typeof(ct)
        expected = y_aval.update(dtype=dtypes.tangent_dtype(y_aval.dtype))
        if ct_aval.shape != expected.shape or expected.dtype not in (ct_aval.dtype, dtypes.float0):
            raise ValueError("unexpected JAX type (e.g. shape/dtype) for argument to VJP function: "
                             f"got {ct_aval.str_short()}, but expected {expected.str_short()} because the "
                             f"corresponding output of the differentiated function had JAX type {y_aval.str_short()}")
        leaves.append(np.zeros(data_aval.shape, data_aval.dtype) if ct_aval.dtype == dtypes.float0 else ct)
    return tree_util.tree_unflatten(ct_tree, leaves)


def _jvp_inline(fun, primals, tangents, has_aux):
    """Inside a trace: jvp's result, by the forward-mode pass on `fun` traced alone."""
    fun_pair = _split_aux(fun, has_aux)
    arguments = staging.Arguments(primals)
    traced = staging.trace_arguments(fun_pair, arguments)
    n_out = traced.out_tree.children()[0].num_leaves
    tangent_leaves = [asarray(t, p.dtype) for t, p in zip(tree_util.tree_leaves(tuple(tangents)), arguments.dynamic)]
    results = _call_derivative(traced, list(arguments.dynamic) + traced.lifted + tangent_leaves,
                               list(traced.out_avals) * 2, range(len(arguments.dynamic)))
    output, aux = tree_util.tree_unflatten(traced.out_tree, results[: len(traced.out_avals)])
    out_tree = traced.out_tree.children()[0]
    tangent_out = tree_util.tree_unflatten(out_tree, results[len(traced.out_avals):][:n_out])
    return (output, tangent_out, aux) if has_aux else (output, tangent_out)


def _on_argnums(fun, argnums, args, kwargs):
    """(`fun` as a function of its positional arguments `argnums` alone, those arguments)."""
    nums = _argnums_tuple(argnums, len(args), jacobian=True)

    def partial_fun(*dynamic):
        full = list(args)
        for i, x in zip(nums, dynamic):
            full[i] = x
        return fun(*full, **kwargs)

    return partial_fun, tuple(args[i] for i in nums)


def _leaf_avals(tree) -> list:
    return [shapes.typeof(x) for x in tree_util.tree_leaves(tree)]


# jacfwd's dtype checks (jacrev's are grad's: _check_inexact, _check_real_output).
def _check_forward_input(holomorphic, aval):
    if holomorphic and not dtypes.is_complex(aval.dtype):
        raise TypeError(f"jacfwd with holomorphic=True requires inputs with complex dtype, but got {aval.dtype.name}.")
    if not holomorphic and not dtypes.is_float(aval.dtype):
        raise TypeError("jacfwd requires real-valued inputs (input dtype that is a sub-dtype of np.floating), but "
                        f"got {aval.dtype.name}. For holomorphic differentiation, pass holomorphic=True. For "
                        "differentiation of non-holomorphic functions involving complex inputs or integer inputs, "
                        "use jax.jvp directly.")


def _check_forward_output(holomorphic, aval):
    if holomorphic and not dtypes.is_complex(aval.dtype):
        raise TypeError(f"jacfwd with holomorphic=True requires outputs with complex dtype, but got {aval.dtype.name}.")


def _like(x, aval):
    """`x` with `aval`'s dtype and weak type (the real part, for a real aval),
    as JAX's Jacobian leaves take those of an input or output leaf."""
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(aval.dtype):
        x = jnp.real(x)
    if (x.dtype, x.aval.weak_type) == (aval.dtype, aval.weak_type):
        return x
    return convert_element_type.bind(x, new_dtype=aval.dtype, weak_type=aval.weak_type)


def _unravel(tree, axis, example, flat):
    """`flat`'s axis `axis` split into `tree`'s leaves, each reshaped to
    flat.shape[:axis] + leaf.shape + flat.shape[axis + 1:] and given the
    dtype of `example` (an aval), or of the leaf where `example` is None:
    JAX's _unravel_array_into_pytree."""
    avals, treedef = _leaf_avals(tree), tree_util.tree_structure(tree)
    axis %= flat.ndim
    bounds = [int(b) for b in np.cumsum([0] + [a.size for a in avals])]
    parts = [slice_in_dim(flat, start, stop, axis=axis) for start, stop in zip(bounds[:-1], bounds[1:])]
    return treedef.unflatten(
        _like(part.reshape(flat.shape[:axis] + a.shape + flat.shape[axis + 1:]), a if example is None else example)
        for part, a in zip(parts, avals))


def _std_basis(tree):
    """The standard basis of the space of `tree`'s leaves, as a tree of its
    structure whose leaves stack the basis vectors on a first axis: the
    cotangents (jacrev) or tangents (jacfwd) that give all rows or columns
    of a Jacobian in one vmap."""
    avals = _leaf_avals(tree)
    size = sum(a.size for a in avals)
    dtype = dtypes.result_type(*[a.dtype for a in avals])
    return _unravel(tree, 1, None, jnp.eye(size, dtype=dtype))


def _without_float0(tree):
    """`tree` with None for its float0 leaves (vjp's for integer inputs),
    which vmap cannot stack."""
    return tree_util.tree_map(lambda g: None if g.dtype == dtypes.float0 else g, tree)


def _zeros_for_float0(primal, tangent):
    """`tangent` with zeros of `primal`'s dtype for its float0 leaves (those of
    integer and boolean outputs): JAX's jacfwd casts them so
    (_possible_downcast), a Jacobian block of zeros."""
    return tree_util.tree_map(lambda y, t: jnp.zeros_like(y) if t.dtype == dtypes.float0 else t, primal, tangent)


def _jacobian_function(kind, fun, argnums, flags, jacobian_of):
    """`fun`'s Jacobian function: `jacobian_of(f)(*args, **kwargs)` as one
    staged call (one program for all rows or columns), or on fun's straight
    line where it branches on values (tape.py)."""
    key = (kind, fun, argnums if isinstance(argnums, int) else tuple(argnums)) + flags

    has_aux = flags[0]

    @functools.wraps(fun)
    def jacobian_fun(*args, **kwargs):
        result = tape.staged_or_on_values(key, jacobian_of(fun), functools.partial(
            tape.on_straight_line, jacobian_of, fun, (args, kwargs)), args, kwargs)
        return (result[0], _unboxed(result[1])) if has_aux else result

    jacobian_fun.lower = lambda *args, **kwargs: lowering.lower(jacobian_fun, args, kwargs)
    return jacobian_fun


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """The Jacobian of `fun` with respect to positional argument(s) `argnums`,
    as `jax.jacrev`: for an output tree O and an input tree I, a tree of O's
    structure whose leaves are trees of I's structure, of shape
    out_leaf.shape + in_leaf.shape (I is the tuple of the arguments where
    argnums is a sequence). With `has_aux`, `(jacobian, aux)`. `holomorphic`
    and `allow_int` as in grad (an integer input's entries are zeros of its
    dtype, as in JAX). Reverse mode: the VJP batched (vmap) over the output's
    basis, so all rows come from one program."""
    def reverse(f):
        def rows(*args, **kwargs):
            partial_fun, dynamic = _on_argnums(f, argnums, args, kwargs)
            _check_inexact(staging.Arguments(dynamic), range(len(dynamic)), "jacrev", holomorphic, allow_int)
            y, pullback, *aux = vjp(partial_fun, *dynamic, has_aux=has_aux)
            aux = [_boxed(a) for a in aux]  # (this staged call's output, unboxed at its end)
            for aval in _leaf_avals(y):
                _check_real_output("jacrev", holomorphic, aval)
            row = lambda cotangent: _without_float0(pullback(cotangent))  # noqa: E731
            basis = _std_basis(y)
            if sum(a.size for a in _leaf_avals(y)) == 1:
                # One row (a scalar output, hessian's inner jacrev): the VJP itself, no vmap
                # of size 1, whose unit batch axis IREE 3.13 failed to compile under jacfwd
                # (a windowed sum's hessian, cg's: "expected type ... (size mismatch)").
                jac = tree_util.tree_map(lambda g: g[None], row(tree_util.tree_map(lambda b: b[0], basis)))
            else:
                jac = vmap(row)(basis)
            jac, example = (jac[0], dynamic[0]) if isinstance(argnums, int) else (jac, dynamic)
            in_tree, n_out = tree_util.tree_structure(example), sum(a.size for a in _leaf_avals(y))

            def rows_of(aval, stacked):  # (n_out,) + in_leaf.shape, split into y's leaves
                stacked = jnp.zeros((n_out,) + aval.shape, aval.dtype) if stacked is None else stacked
                return _unravel(y, 0, aval, stacked)

            per_input = [rows_of(a, r) for a, r in zip(_leaf_avals(example), in_tree.flatten_up_to(jac))]
            jac_tree = tree_util.tree_transpose(in_tree, tree_util.tree_structure(y), in_tree.unflatten(per_input))
            return (jac_tree, *aux) if has_aux else jac_tree
        return rows

    return _jacobian_function("jacrev", fun, argnums, (has_aux, holomorphic, allow_int), reverse)


jacobian = jacrev  # JAX's other name for it


def _batched_output(aux):
    """jvp's aux as jacfwd's vmap gives it back: its leaves that are not
    arrays as they are (JAX's out_axes None), where vmap takes them (numbers
    and NumPy arrays), else JAX's error."""
    for leaf in tree_util.tree_flatten_data(aux)[0]:
        if not staging.is_traceable_leaf(leaf):
            raise TypeError(f"Output from batched function {leaf!r} with type {type(leaf)} is not a valid JAX type")
    return _boxed(aux)


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian of `fun` with respect to positional argument(s) `argnums`,
    structured as jacrev's, as `jax.jacfwd`. Forward mode: the JVP batched
    (vmap) over the inputs' basis, so all columns come from one program."""
    def forward(f):
        def columns(*args, **kwargs):
            partial_fun, dynamic = _on_argnums(f, argnums, args, kwargs)
            for aval in _leaf_avals(dynamic):
                _check_forward_input(holomorphic, aval)
            basis = _std_basis(dynamic)
            if tree_util.tree_leaves(basis)[0].shape[0]:
                def pushforward(tangent):
                    y, jac, *aux = jvp(partial_fun, dynamic, tangent, has_aux=has_aux)
                    return (y, _zeros_for_float0(y, jac), *map(_batched_output, aux))

                y, jac, *aux = vmap(pushforward, out_axes=(0, -1) + (0,) * has_aux)(basis)
                # The output and aux come out of the batched derivative call batched (the
                # same in every slice, where JAX's vmap knows them unbatched): take slice 0.
                y, aux = tree_util.tree_map(lambda v: v[0], (y, aux))
            else:  # inputs of size 0: no columns, nor a slice to take the output from
                y, *aux = _split_aux(partial_fun, has_aux)(*dynamic)
                aux = aux if has_aux else []
                jac = tree_util.tree_map(lambda v: jnp.zeros(jnp.shape(v) + (0,), jnp.result_type(v)), y)
            for aval in _leaf_avals(y):
                _check_forward_output(holomorphic, aval)
            example = dynamic[0] if isinstance(argnums, int) else dynamic
            jac_tree = tree_util.tree_map(lambda y_leaf, cols: _unravel(example, -1, shapes.typeof(y_leaf), cols),
                                          y, jac)
            return (jac_tree, *aux) if has_aux else jac_tree
        return columns

    return _jacobian_function("jacfwd", fun, argnums, (has_aux, holomorphic), forward)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable:
    """Second derivatives, jacfwd(jacrev(fun)), as `jax.hessian`: for an
    output tree O and an input tree I, a tree O(I(I)) of shape
    out_leaf.shape + in_leaf_1.shape + in_leaf_2.shape."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


def linearize(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """`(fun(*primals), f_jvp)`, where `f_jvp(*tangents)` is fun's
    Jacobian-vector product at `primals`, `jvp(fun, primals, tangents)[1]`,
    as `jax.linearize`; with `has_aux`, `(output, f_jvp, aux)`. Each call of
    f_jvp runs the forward-mode program, which computes fun's forward pass
    again: JAX keeps the linearization point's residuals instead, but MLIR
    holds no tape (vjp's backward function recomputes it too)."""
    fun_pair = _split_aux(fun, has_aux)
    output, aux = tape.staged_or_on_values(("linearize", fun, has_aux), fun_pair,
                                           lambda args, _: fun_pair(*args), primals)
    aux = _unboxed(aux)
    in_tree = tree_util.tree_structure(primals)
    in_avals = [shapes.typeof(p) for p in tree_util.tree_leaves(primals)]

    def f_jvp(*tangents):
        if tree_util.tree_structure(tangents) != in_tree:
            raise TypeError(f"expected {in_tree}, got {tree_util.tree_structure(tangents)}")
        for primal_aval, t in zip(in_avals, tree_util.tree_leaves(tangents)):
            tangent_aval = shapes.typeof(t)
            if (tangent_aval.shape, tangent_aval.dtype) != (primal_aval.shape, primal_aval.dtype):
                raise ValueError("linearized function called on tangent values inconsistent with the original "
                                 f"primal values:\nGot tangent aval {tangent_aval} for primal aval {primal_aval} "
                                 f"but expected {primal_aval}.")
        return jvp(fun, primals, tangents, has_aux)[1]

    return (output, f_jvp, aux) if has_aux else (output, f_jvp)


def linear_transpose(fun: Callable, *primals: Any, reduce_axes: Sequence[Any] = ()) -> Callable:
    """The transpose of the linear function `fun`, as `jax.linear_transpose`:
    a function mapping a cotangent shaped like `fun(*primals)` to the tuple
    of cotangents of `primals`. The primals (arrays, numbers or
    ShapeDtypeStructs) give only shapes and dtypes. A linear function's
    transpose is its VJP at any point: irax takes it at zeros, with the
    forward pass left for the passes to remove."""
    if reduce_axes:
        raise NotImplementedError("reduce_axes argument to transpose is deprecated")
    flat, in_tree = tree_util.tree_flatten(primals)
    in_avals = tuple(shapes.typeof(x) for x in flat)
    out_leaves, out_tree = tree_util.tree_flatten(shapes.eval_shape(fun, *primals))
    out_avals = [shapes.typeof(s) for s in out_leaves]
    in_dtypes, out_dtypes = [a.dtype for a in in_avals], [a.dtype for a in out_avals]
    if not all(dtypes.is_inexact(d) for d in in_dtypes + out_dtypes):
        if all(np.issubdtype(d, np.integer) for d in in_dtypes + out_dtypes):
            raise NotImplementedError("irax.linear_transpose of an integer -> integer function is not implemented "
                                      "(irax differentiates floating-point values only)")
        raise TypeError("linear_transpose only supports [float or complex] -> [float or complex], and integer -> "
                        f"integer functions, but got {in_dtypes} -> {out_dtypes}.")

    def at_zeros(cotangent):
        zeros = tree_util.tree_unflatten(in_tree, [convert(np.zeros(a.shape, a.dtype), a.dtype, a.weak_type)
                                                   for a in in_avals])
        return vjp(fun, *zeros)[1](cotangent)

    def transposed_fun(out_cotangent):
        cts, tree = tree_util.tree_flatten(out_cotangent)
        if tree != out_tree:
            raise TypeError(f"cotangent tree does not match function output, expected {out_tree} but got {tree}")
        if any((shapes.typeof(c).shape, shapes.typeof(c).dtype) != (a.shape, a.dtype) for c, a in zip(cts, out_avals)):
            raise TypeError(f"cotangent type does not match function output, expected {tuple(out_avals)!r} "
                            f"but got {cts}")
        return staging.staged_call(("linear_transpose", fun, in_tree, in_avals), at_zeros, (out_cotangent,))

    return transposed_fun
