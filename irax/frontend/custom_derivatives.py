"""`irax.custom_vjp` and `irax.custom_jvp`: user-written derivative rules.

    @irax.custom_vjp
    def clip_gradient(x): ...
    clip_gradient.defvjp(fwd, bwd)   # fwd(x) -> (y, residuals); bwd(residuals, ct_y) -> (ct_x,)

    @irax.custom_jvp
    def log1pexp(x): ...
    log1pexp.defjvp(rule)            # rule(primals, tangents) -> (y, t_y)

As in JAX, `nondiff_argnums` names arguments the rules get first, apart
(`rule(*nondiff, primals, tangents)`, `bwd(*nondiff, residuals, ct_y)`),
keyword arguments are bound to positions, `defjvps` gives one rule per
argument, and a bwd rule may give None for an argument's zero cotangent.
An integer, boolean or key value has no derivative: a rule gets float0
zeros of its shape as its tangent or cotangent (NumPy arrays, which no
irax array holds), a JVP rule must give them as such an output's tangent,
and what a bwd rule gives for such an argument is ignored. As JAX checks
the derivatives a rule gives only when it differentiates the call, a
call whose rule gives the wrong ones carries JAX's error, raised then.

Traced, a call of such a function becomes a `func.call` of a private
function holding the function, and its rules are traced right then into
private functions of the same module, which attributes of the call name
(the IR is in transforms/ad/custom.py):

    @irax_custom_vjp_N       (x..., c...) -> (y...)                  the function
    @irax_custom_vjp_N_fwd   (x..., c...) -> (y..., residuals...)    fwd, pytrees flattened
    @irax_custom_vjp_N_bwd   (residuals..., ct_y..., c...) -> (ct_x...)
    @irax_custom_jvp_N_rule  (x..., t_x..., c...) -> (y..., t_y...)

where c are the arrays that the function and its rules close over (their
lifted values, see staging.py), which the call passes on. So the module
alone says how to differentiate the call: the autodiff passes inline the
rules in its place; the `inline` pass removes calls never differentiated.
Like every transformation, a call is one staging.staged_call. Called
outside every transformation, it is the function alone, compiled (its
rules are neither traced nor run, as in JAX: `_function_alone`).

`no_derivative(fun, error)` is irax's own third kind: a function whose
derivative is an error (lax.composite's, schur's, as JAX's primitives
without a differentiation rule); its call is marked with the error.

A rule may call the function it belongs to (log1pexp's rule computes
log1pexp(x)): that call, traced while the rule is, names the functions
being traced, and is differentiated by the same rule if it ever is. It
passes the arrays closed over as far as known; where the rules turn out
to close over more, they are traced again.
"""
import functools
import inspect
import weakref
from dataclasses import dataclass

import numpy as np

from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.frontend import core, dtypes, lax_elementwise, lax_structural, shapes, staging
from irax.transforms.ad import custom


@dataclass
class _Tracing:
    """A custom call whose rules are being traced. A call of it inside them
    passes the arrays `closed` over as far as known (`called` says one did)."""
    name: str
    primal: staging.TracedFunction
    closed: list
    called: bool = False


_tracing = weakref.WeakKeyDictionary()  # outermost trace -> {(function, signature): _Tracing}
_NESTED_RULES = 1  # how deep a custom function's calls inside its own rules get rules (above)


def _trace(fn, avals):
    """Trace `fn(*flat values of avals)` into a function of its own."""
    return staging.trace_function(fn, avals, tree_util.tree_structure(tuple(avals)))


def _check_types(rule, got, expected, what):
    """A rule's derivatives have the shapes and dtypes of the values they are derivatives of."""
    for k, (g, e) in enumerate(zip(got, expected)):
        if (g.shape, g.dtype) != (e.shape, e.dtype):
            raise TypeError(f"{rule} must produce derivatives with the shapes and dtypes of the values they belong "
                            f"to, but produced {g.str_short()} for {what} {k} of type {e.str_short()}.")


def _union(closed, traced_functions):
    """`closed`, then the values the traced functions lifted that it lacks."""
    union = {id(x): x for x in closed}
    for traced in traced_functions:
        union.update((id(x), x) for x in traced.lifted if id(x) not in union)
    return list(union.values())


def _add_private(trace, traced, name, closed):
    """Add `traced`'s function to `trace`'s module as private @name, taking its
    flat arguments, then all of `closed` (of which it reads those it lifted)."""
    position = {id(x): k for k, x in enumerate(closed)}
    staging.add_private_function(trace, traced, name, [trace.to_tracer(x).value.type for x in closed],
                                 lambda values: [values[position[id(x)]] for x in traced.lifted])


def _emit_call(custom_fn, args):
    """Trace `custom_fn.fun(*args)` and its rules into private functions of
    the current module, call it there and return its outputs."""
    trace = core.current_trace()
    arguments = staging.Arguments(args, static_numbers=custom_fn.nondiff_argnums)
    kind = custom_fn.kind
    in_progress = _tracing.setdefault(core.outermost_trace(), {})
    key = (custom_fn, arguments.signature())
    tracing = in_progress.get(key)
    rule_attributes, error = custom_fn.rule_attributes, None
    if tracing is not None:  # a call inside its own rule
        tracing.called = True
        name, primal, closed = tracing.name, tracing.primal, tracing.closed
    elif sum(fn is custom_fn for fn, _ in in_progress) > _NESTED_RULES:
        # A call inside its own rules at other arguments (the cookbook's
        # fixed_point calls itself in its bwd with a new `partial`) gets
        # rules of its own, for a second derivative through it; the call in
        # those rules' rules is traced without, else each would trace the
        # next, without end (JAX traces rules only when differentiating). So
        # a third derivative through it is not available.
        name = staging.fresh_name(f"irax_custom_{kind}")
        primal = staging.trace_arguments(custom_fn.fun, arguments)
        closed, rule_attributes = list(primal.lifted), {}
        _add_private(trace, primal, name, closed)
    else:
        name = staging.fresh_name(f"irax_custom_{kind}")
        primal = staging.trace_arguments(custom_fn.fun, arguments)
        tracing = in_progress[key] = _Tracing(name, primal, list(primal.lifted))
        try:
            while True:
                rules, error = custom_fn.trace_rules(arguments, primal)
                closed = _union(tracing.closed, rules.values())
                if not tracing.called or len(closed) == len(tracing.closed):
                    break
                tracing.closed, tracing.called = closed, False  # its calls inside the rules passed too few
        finally:
            del in_progress[key]
        _add_private(trace, primal, name, closed)
        for suffix, traced in rules.items():
            _add_private(trace, traced, f"{name}_{suffix}", closed)
    operands = [trace.to_tracer(x).value for x in arguments.dynamic + closed]
    call = func.CallOp(list(primal.func.type.results), ir.FlatSymbolRefAttr.get(name), operands)
    for attribute, suffix in rule_attributes.items():
        call.attributes[attribute] = ir.FlatSymbolRefAttr.get(f"{name}_{suffix}")
    if error is not None:  # (raised when the call is differentiated)
        call.attributes[custom.NO_DERIVATIVE] = custom.no_derivative_attribute(error)
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, primal.out_avals)]
    return tree_util.tree_unflatten(primal.out_tree, results)


def _resolve_kwargs(fun, args, kwargs):
    """`args` with `kwargs` bound to their positions and defaults filled in, as
    JAX's custom functions take them: their rules see positional arguments."""
    try:
        signature = inspect.signature(fun)
    except (TypeError, ValueError):  # no signature to bind to (some builtins)
        if kwargs:
            raise
        return args
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError("keyword arguments could not be resolved to positions")
    return bound.args


def _split(args, nondiff_argnums):
    """(the arguments at `nondiff_argnums`, the others), in order."""
    return ([args[i] for i in nondiff_argnums],
            tuple(a for i, a in enumerate(args) if i not in nondiff_argnums))


def _cotangent_leaves(cts, args):
    """A bwd rule's output `cts`, one leaf per leaf of the primal arguments
    `args`: a None in place of an argument or part of one stands for zeros
    (None for each of its leaves). ValueError where the structures differ."""
    flat = []

    def append(ct, arg):
        n = tree_util.tree_structure(arg).num_leaves
        if ct is None:
            flat.extend([None] * n)
        elif n != 1:
            raise ValueError("a cotangent leaf for a subtree")
        else:
            flat.append(ct)

    tree_util.tree_map(append, cts, args, is_leaf=lambda x: x is None)
    return flat


_PYTHON_SCALARS = (bool, int, float, complex)


def _function_alone(custom_fn, args):
    """A custom function called outside every transformation: its function,
    as JAX runs it (its rules neither traced nor called), compiled, or on
    values where it branches on them. Outputs the function gives as Python
    scalars come back as those scalars, as JAX's eager call runs the Python
    function and returns what it returns (under jit they are weakly typed
    arrays, as JAX's). Given Python numbers only, it runs on them, so that
    Python's arithmetic on them stays Python's (the tutorials' f(Point(1.,
    2.)) gives x ** 2 as the float 1.0); given arrays, the trace records,
    per argument signature, which outputs are Python scalars it made and
    which are arguments it returns as they came (a Python scalar argument
    comes back as itself)."""
    from irax.frontend import tape  # (tape imports irax.numpy, whose linear algebra uses custom_vjp)
    fun = custom_fn.fun
    numbers = tree_util.tree_leaves(_split(args, custom_fn.nondiff_argnums)[1])
    if numbers and all(type(x) in _PYTHON_SCALARS for x in numbers):
        return fun(*args)
    recorded = custom_fn.__dict__.setdefault("_python_outputs", {})  # only signatures with such outputs

    def traced(*traced_args):  # runs when staging traces the function, once per signature
        out = fun(*traced_args)
        leaves = tree_util.tree_leaves(out)
        position = {id(x): j for j, x in enumerate(tree_util.tree_leaves(traced_args))}
        made = {k: x for k, x in enumerate(leaves) if type(x) in _PYTHON_SCALARS}
        passed = {k: position[id(x)] for k, x in enumerate(leaves) if id(x) in position}
        if made or passed:
            recorded[staging.Arguments(args).signature()] = made, passed
        return out

    out = tape.staged_or_on_values(("custom function", fun), traced, lambda args, _: fun(*args), args)
    if not recorded:  # (the common case: no signature to compute)
        return out
    made, passed = recorded.get(staging.Arguments(args).signature(), ({}, {}))
    arg_leaves = tree_util.tree_leaves(args)
    scalars = {**made, **{k: arg_leaves[j] for k, j in passed.items() if type(arg_leaves[j]) in _PYTHON_SCALARS}}
    if not scalars:
        return out
    leaves, tree = tree_util.tree_flatten(out)
    return tree_util.tree_unflatten(tree, [scalars.get(k, x) for k, x in enumerate(leaves)])


def _zeros(aval):
    return lax_structural.full(aval.shape, 0, aval.dtype)


def _cotangent(ct, aval, path, errors):
    """A bwd rule's cotangent `ct` of an argument of `aval` at `path` in the
    arguments tuple, as the passes carry it: zeros for None; converted to the
    argument's dtype where it has another, which JAX allows (its gradient
    then has the rule's dtype, irax's the argument's); zeros, and JAX's
    ValueError appended to `errors`, where its shape is another."""
    if ct is None:
        return _zeros(aval)
    got = shapes.typeof(ct)
    if got.shape != aval.shape:
        mismatch = ("dtypes do not match, and the " if got.dtype != aval.dtype else "") + "shapes do not match"
        errors.append(ValueError("Custom VJP bwd rule must produce an output with the same type as the args tuple "
                                 f"of the primal function, but at output{tree_util.keystr(path)} the bwd rule "
                                 f"produced an output of type {got.str_short()} corresponding to an input of type "
                                 f"{aval.str_short()}, so the {mismatch}"))
        return _zeros(aval)
    if got.dtype == aval.dtype:
        return ct
    if dtypes.is_complex(got.dtype) and not dtypes.is_complex(aval.dtype):
        ct = lax_elementwise.real(ct)  # (what a transpose of real -> complex takes, without convert's warning)
    return lax_elementwise.convert_element_type(ct, aval.dtype)


def forward_definitions(self, name: str):
    """A custom function's `__getattr__`, as JAX's: the rule definitions
    (`def...`) it lacks are those of the function it wraps, so that
    `@f.def_vmap` defines the rule of a custom_vmap function that a
    custom_vjp wraps."""
    if name.startswith("def") and "fun" in vars(self):
        return getattr(self.fun, name)
    raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class custom_vjp:
    """A function whose reverse-mode derivative is given by `defvjp(fwd, bwd)`."""

    kind = "vjp"
    rule_attributes = {custom.VJP_FWD: "fwd", custom.VJP_BWD: "bwd"}
    __getattr__ = forward_definitions

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.fwd, self.bwd = fun, None, None
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._bind = functools.wraps(fun)(lambda *args: _emit_call(self, args))  # what staged_call traces

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self.__name__} using defvjp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        if core.untraced():  # (outside every transformation: nothing differentiates it)
            return _function_alone(self, args)
        return staging.staged_call(self._staging_key(), self._bind, args, static_numbers=self.nondiff_argnums)

    def _staging_key(self):
        return ("custom_vjp", self.fun, self.fwd, self.bwd, self.nondiff_argnums)

    def trace_rules(self, arguments, primal):
        """fwd and bwd, their pytrees flattened: fwd(x...) -> (y..., residuals...)
        and bwd(residuals..., ct_y...) -> (ct_x...). The arrays among the
        nondiff arguments are residuals too, for bwd to be given them. And
        JAX's ValueError where bwd gives a cotangent of another shape than its
        argument's, which the call carries, to raise when differentiated (JAX
        checks bwd only then; `_cotangent`)."""
        n = len(arguments.dynamic)
        error = []  # bwd's, once traced
        saved = sorted(k for i in self.nondiff_argnums for k in arguments.dynamic_indices(i))

        def forward(*dynamic):
            args, _ = arguments.rebuild(dynamic)
            result = self.fwd(*args)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                return result  # the check below says what is wrong
            return result[0], (result[1], [dynamic[k] for k in saved])

        fwd = _trace(forward, [x.aval for x in arguments.dynamic])
        pair = fwd.out_tree.children()
        if fwd.out_tree.node_type not in (tuple, list) or len(pair) != 2 or pair[0] != primal.out_tree:
            raise TypeError("Custom VJP fwd rule must produce a pair (list or tuple of length two) representing "
                            "primal outputs and residuals (values stored from the forward pass for use on the "
                            f"backward pass), with the primal outputs of the function ({primal.out_tree}); "
                            f"got {fwd.out_tree}.")
        out_tree, residual_tree = pair
        n_res = residual_tree.num_leaves
        diff_args = _split(arguments.args, self.nondiff_argnums)[1]
        args_tree = tree_util.tree_structure(diff_args)
        ends = np.cumsum([0] + [t.num_leaves for t in arguments.arg_trees])
        diff_dynamic = [arguments.is_dynamic[j] for i in range(len(arguments.args)) if i not in self.nondiff_argnums
                        for j in range(ends[i], ends[i + 1])]  # which leaves of diff_args are arrays
        paths = [path for path, _ in tree_util.tree_flatten_with_path(diff_args)[0]]

        def backward(*flat):
            residuals, saved_values = tree_util.tree_unflatten(residual_tree, flat[:n_res])
            ct = _as_jax_gives(tree_util.tree_unflatten(out_tree, flat[n_res:]))
            dynamic = dict(zip(saved, saved_values))
            args, _ = arguments.rebuild([dynamic.get(k) for k in range(n)])
            cts = self.bwd(*_split(args, self.nondiff_argnums)[0], residuals, ct)
            try:
                if not isinstance(cts, (tuple, list)):
                    raise ValueError
                leaves = _cotangent_leaves(tuple(cts), diff_args)
            except ValueError:
                raise TypeError("Custom VJP bwd rule must produce an output with the same container (pytree) "
                                "structure as the args tuple of the primal function, and in particular must "
                                "produce a tuple of length equal to the number of arguments to the primal "
                                f"function, but got bwd output structure {tree_util.tree_structure(cts)} for "
                                f"primal input structure {args_tree}.") from None
            diff_cts = iter((path, ct) for path, ct, is_array in zip(paths, leaves, diff_dynamic) if is_array)
            cts, errors = [], []
            for k, x in enumerate(arguments.dynamic):
                # The nondiff arguments' arrays get zeros: the rule says they
                # have no derivative. So do integer, boolean and key arguments
                # (a key's data), whatever the rule gives them: JAX ignores it.
                path, ct = ((), None) if k in saved else next(diff_cts)
                cts.append(_cotangent(ct if dtypes.is_inexact(x.aval.dtype) else None, x.aval, path, errors))
            error.append(errors[0] if errors else None)
            return tuple(cts)

        n_out = out_tree.num_leaves
        bwd = _trace(backward, fwd.out_avals[n_out:] + primal.out_avals)
        return {"fwd": fwd, "bwd": bwd}, error[0]


_rule_on_values = weakref.WeakSet()  # custom_jvp functions whose rule tape.straight_line is recording


class custom_jvp:
    """A function whose forward-mode derivative is given by `defjvp(rule)`;
    reverse mode transposes the rule (it must be linear in the tangents)."""

    kind = "jvp"
    rule_attributes = {custom.JVP: "rule"}
    __getattr__ = forward_definitions

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.jvp = fun, None
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._bind = functools.wraps(fun)(lambda *args: _emit_call(self, args))

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument, `jvp_i(t_i, y, *primals) -> t_y` (None: the
        argument has no effect); the tangent is their sum."""
        if self.nondiff_argnums:
            raise TypeError("Can't use ``defjvps`` with ``nondiff_argnums``.")

        def jvp(primals, tangents):
            out = self(*primals)
            terms = [rule(t, out, *primals) for t, rule in zip(tangents, jvps) if rule is not None]
            if not terms:
                return out, _as_jax_gives(tree_util.tree_map(lambda y: lax_structural.full_like(y, 0), out))
            return out, tree_util.tree_map(lambda *ts: functools.reduce(lambda a, b: a + b, ts), *terms)

        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {self.__name__} using defjvp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        if core.untraced():
            return _function_alone(self, args)
        from irax.frontend import tape  # (tape imports irax.numpy, whose linear algebra uses custom_vjp)
        return tape.staged_or_on_values(("custom_jvp", self.fun, self.jvp, self.nondiff_argnums), self._bind,
                                        lambda args, _: self._on_values(args, tape), args)

    def _on_values(self, args, tape):
        """The call where staging it needs values: the function or its rule
        branches on them (`if x > 0:`), which JAX's eager custom_jvp allows.
        Not differentiated, that is the function on the values. Under grad's
        eager fallback (a tape recording the arguments, tape.py), it is the
        rule as it runs at these values, recorded as a straight line, made
        the rule of a custom_jvp call the tape records; a call of this
        function inside its own rule there is the function on values."""
        recording = core.current_tape()
        if recording is None or self in _rule_on_values or not recording.reads_taped(staging.Arguments(args).dynamic):
            return self.fun(*args)
        nondiff, primals = _split(args, self.nondiff_argnums)
        zeros = tree_util.tree_map_data(lambda x: lax_structural.full_like(x, 0), primals)
        _rule_on_values.add(self)
        try:
            path, _ = tape.straight_line(lambda p, t: self.jvp(*nondiff, p, _as_jax_gives(t)), (primals, zeros))
        finally:
            _rule_on_values.discard(self)
        along = custom_jvp(lambda *p: path(p, zeros)[0])
        # (the line takes tangents of the primals' dtypes: given float0 zeros, it reads zeros of those)
        along.defjvp(lambda p, t: path(p, tree_util.tree_map(lambda t, z: z if staging.is_float0(t) else t, t, zeros)))
        return along(*primals)

    def trace_rules(self, arguments, primal):
        """The rule, its pytrees flattened: (x..., t_x...) -> (y..., t_y...),
        and JAX's TypeError if its tangents' types are not those of its
        outputs' tangents (`_tangent_error`). JAX checks them when it
        differentiates the call, so the call carries that error instead (a
        rule giving a tangent 0 for an integer output works undifferentiated)."""
        n = len(arguments.dynamic)
        error = []  # the rule's, once traced

        def rule(*flat):
            primals, tangents = arguments.rebuild(flat[:n])[0], arguments.rebuild(flat[n:])[0]
            nondiff, primals = _split(primals, self.nondiff_argnums)
            out, t_out = self.jvp(*nondiff, primals, _as_jax_gives(_split(tangents, self.nondiff_argnums)[1]))
            out_leaves, out_tree = tree_util.tree_flatten_data(out)
            trees = tree_util.tree_structure(out), tree_util.tree_structure(t_out)
            if out_tree != primal.out_tree or trees[0] != trees[1]:
                raise TypeError("Custom JVP rule must produce primal and tangent outputs with equal container "
                                f"(pytree) structures to the function's ({primal.out_tree}), but got {trees[0]} "
                                f"and {trees[1]} respectively.")
            t_leaves = tree_util.tree_leaves(t_out)
            error.append(_tangent_error(tree_util.tree_leaves(out), t_leaves))
            # The passes carry zeros of an output's data where JAX has float0
            # zeros (no irax array holds them); a rule with an error gives zeros, never read.
            tangents = [_zeros(aval) if error[0] or staging.is_float0(t) else t
                        for t, aval in zip(t_leaves, primal.out_avals)]
            return tuple(out_leaves + tangents)

        avals = [x.aval for x in arguments.dynamic]
        traced = _trace(rule, avals + avals)
        n_out = len(primal.out_avals)
        _check_types("Custom JVP rule", traced.out_avals[n_out:], primal.out_avals, "primal output")
        return {"rule": traced}, error[0]


def _tangent_error(outputs, tangents) -> TypeError | None:
    """JAX's TypeError unless each tangent has its output's shape and the
    dtype JAX requires of its tangent: float0 for an integer, boolean or
    key output, its own dtype for an inexact one (weak types aside)."""
    primal = [shapes.typeof(y) for y in outputs]
    expected = [core.ShapedArray(y.shape, dtypes.tangent_dtype(y.dtype)) for y in primal]
    got = [shapes.tangent_typeof(t) for t in tangents]
    wrong = [(p, e, t) for p, e, t in zip(primal, expected, got) if (e.shape, e.dtype) != (t.shape, t.dtype)]
    if not wrong:
        return None
    if len(expected) == 1:
        return TypeError("Custom JVP rule must produce primal and tangent outputs with corresponding shapes and "
                         f"dtypes. Expected {expected[0].str_short()} (tangent type of {primal[0].str_short()}) but "
                         f"got {got[0].str_short()}.")
    return TypeError("Custom JVP rule must produce primal and tangent outputs with corresponding shapes and dtypes, "
                     "but got:\n" + "\n".join(f"  primal {p.str_short()} with tangent {t.str_short()}, expecting "
                                               f"tangent {e.str_short()}" for p, e, t in wrong))


def _as_jax_gives(tangents):
    """A pytree of a rule's tangents (or cotangents), each of its value's
    shape and dtype, as JAX gives them: float0 zeros in place of those of
    integer, boolean and key arrays, which have no derivative (no irax array
    holds float0 zeros; a key array is one leaf)."""
    no_derivative = lambda x: hasattr(x, "dtype") and dtypes.tangent_dtype(x.dtype) == dtypes.float0  # noqa: E731
    return tree_util.tree_map(lambda x: np.zeros(np.shape(x), dtypes.float0) if no_derivative(x) else x, tangents)


class custom_vjp_and_jvp(custom_vjp):
    """irax's own: a custom_vjp function that forward mode differentiates
    by a JVP rule, `defjvp(rule)` as custom_jvp's. JAX's linear algebra
    (solve, cholesky, triangular_solve, slogdet) has both, as primitives with
    a JVP rule and a transpose: reverse mode takes fwd/bwd (one solve with
    the transpose, where transposing the JVP would transpose loops), forward
    mode (jvp, jacfwd, hessian) the rule. The call carries the attributes
    of both (transforms/ad/custom.py); each pass reads its own."""

    rule_attributes = {**custom_vjp.rule_attributes, **custom_jvp.rule_attributes}

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_vjp_and_jvp function {self.__name__} using defjvp.")
        return super().__call__(*args, **kwargs)

    def _staging_key(self):
        return super()._staging_key() + (self.jvp,)

    def trace_rules(self, arguments, primal):
        (vjp_rules, vjp_error), (jvp_rules, jvp_error) = (custom_vjp.trace_rules(self, arguments, primal),
                                                          custom_jvp.trace_rules(self, arguments, primal))
        return {**vjp_rules, **jvp_rules}, vjp_error or jvp_error


class no_derivative:
    """irax's own: `fun`, whose derivative, when a transformation asks for
    one, is `error` raised, as JAX raises for a primitive without a
    differentiation rule (lax.composite's decomposition, the Schur
    decomposition): `no_derivative(fun, NotImplementedError("..."))`.
    Traced, a call of it is a call of a private function marked with the
    error (transforms/ad/custom.py), which vmap keeps and the `inline` pass
    removes where nothing differentiated it."""

    kind = "nodiff"
    rule_attributes = {}

    def __init__(self, fun, error: Exception):
        functools.update_wrapper(self, fun)
        self.fun, self.error, self.nondiff_argnums = fun, error, ()
        self._bind = functools.wraps(fun)(lambda *args: _emit_call(self, args))

    def __call__(self, *args):
        if core.untraced():
            return _function_alone(self, args)
        return staging.staged_call(("no_derivative", self.fun, str(self.error)), self._bind, args)

    def trace_rules(self, arguments, primal):
        return {}, self.error
