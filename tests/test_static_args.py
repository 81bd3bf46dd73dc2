"""Static arguments as JAX resolves them, and disable_jit; every case is run
on irax and on JAX and must come out the same (a value, or an error of the
same type and wording).

A name in `static_argnames` covers its parameter passed by position, a
number in `static_argnums` its parameter passed by name (through
`inspect.signature`); names and numbers a function does not take are errors
when jit is applied; a static value is one program per (type, value), its
class's `__hash__`/`__eq__` deciding equality; `disable_jit` runs jitted
functions as plain Python on concrete arrays."""
import functools
import threading

import numpy as np
import pytest

import irax

jax = pytest.importorskip("jax")

X = np.arange(1.0, 4.0, dtype=np.float32)
LIBRARIES = {"irax": irax, "jax": jax}


def outcome(thunk):
    """What a call gives: its value as NumPy, or the error it raises."""
    try:
        return np.asarray(thunk())
    except Exception as error:  # noqa: BLE001 -- the error is the outcome compared
        return error


def assert_same_outcome(ours, theirs):
    if not isinstance(theirs, Exception):
        assert not isinstance(ours, Exception), f"JAX gave {theirs}, irax raised {ours!r}"
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(theirs, jax.errors.ConcretizationTypeError):
        assert isinstance(ours, irax.errors.ConcretizationTypeError), repr(ours)
    else:
        assert type(ours) is type(theirs), f"irax raised {ours!r}, JAX {theirs!r}"
        # JAX's words first (a user searches for them); irax may add where and what to do
        assert str(ours).startswith(str(theirs)), f"irax: {ours}\nJAX:  {theirs}"


def scale(x, n):
    return x * n if n > 1 else x  # `if` on n: it must be static


def scale_star(x, *ns):
    return x * ns[1] if ns[0] > 1 else x


def scale_options(x, **options):
    return x * options["n"] if options["n"] > 1 else x


def scale_keyword_only(x, *, n):
    return x * n if n > 1 else x


def scale_positional_only(x, n, /):
    return x * n if n > 1 else x


# (what the case shows, function, jit's options, positional arguments, keyword arguments)
CALLS = [
    ("a name, passed by position", scale, {"static_argnames": "n"}, (X, 2), {}),
    ("a name, passed by name", scale, {"static_argnames": "n"}, (X,), {"n": 2}),
    ("a number, passed by name", scale, {"static_argnums": 1}, (X,), {"n": 2}),
    ("a negative number", scale, {"static_argnums": -1}, (X, 2), {}),
    ("a negative number counts the arguments passed", scale, {"static_argnums": -1}, (X,), {"n": 2}),
    ("numbers past *args", scale_star, {"static_argnums": (1, 2)}, (X, 2, 3), {}),
    ("a name taken by **kwargs", scale_options, {"static_argnames": "n"}, (X,), {"n": 2}),
    ("a keyword-only name", scale_keyword_only, {"static_argnames": "n"}, (X,), {"n": 2}),
    ("a positional-only number", scale_positional_only, {"static_argnums": 1}, (X, 2), {}),
    ("numbers and names both given: none inferred", scale, {"static_argnums": (), "static_argnames": "n"}, (X, 2), {}),
    ("no signature (a builtin): taken as given", max, {"static_argnums": (0, 1)}, (3, 2), {}),
    ("a list, by position", scale, {"static_argnums": 1}, (X, [2]), {}),
    ("a list, by name", scale, {"static_argnames": "n"}, (X,), {"n": [2]}),
    ("a list, by name passed by position", scale, {"static_argnames": "n"}, (X, [2]), {}),
    ("an object without __hash__", scale, {"static_argnums": 1}, (X, type("NoHash", (), {"__hash__": None})()), {}),
]


@pytest.mark.parametrize("fun, options, args, kwargs", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_static_arguments_are_found_as_jax_finds_them(fun, options, args, kwargs):
    ours = outcome(lambda: irax.jit(fun, **options)(*args, **kwargs))
    theirs = outcome(lambda: jax.jit(fun, **options)(*args, **kwargs))
    assert_same_outcome(ours, theirs)


def _message(error, fun, lib):
    return str(error).replace(repr(fun), "FUN").replace(f"{lib}.jit", "LIB.jit")


class _Container:  # Common_Gotchas_in_JAX's CustomClass, not a pytree
    def __init__(self, x):
        self.x = x

    def calc(self, y):
        return self.x * y


@pytest.mark.parametrize("fun, options, args, kwargs", [
    (scale, {}, (X, "two"), {}),
    (scale, {}, (X,), {"n": {"a": [1, object()]}}),
    (scale_star, {"static_argnums": 1}, (X, 2, "three"), {}),
    (_Container.calc, {}, (_Container(2.0), 3.0), {}),
], ids=["a string", "an object inside a pytree, by name", "past *args", "self"])
def test_a_non_array_argument_not_static_is_jax_s_error(fun, options, args, kwargs):
    """jit traces every leaf of the arguments not marked static: a string or
    an object there is JAX's TypeError, naming its path (custom_pytrees.md)."""
    errors = []
    for name, lib in LIBRARIES.items():
        jitted = lib.jit(fun, **options)
        for call in (lambda: jitted(*args, **kwargs), lambda: jitted.lower(*args, **kwargs)):
            with pytest.raises(TypeError, match="Error interpreting argument to") as error:
                call()
            errors.append(_message(error.value, fun, name))
    assert len(set(errors)) == 1, errors


# (what the case shows, function, jit's options)
BAD_OPTIONS = [
    ("an unknown name", scale, {"static_argnames": "m"}),
    ("a number past the parameters", scale, {"static_argnums": 2}),
    ("a negative number past the parameters", scale, {"static_argnums": -3}),
    ("a positional-only name", scale_positional_only, {"static_argnames": "n"}),
    ("a keyword-only number", scale_keyword_only, {"static_argnums": 1}),
    ("a number that is not an integer", scale, {"static_argnums": "1"}),
    ("a name that is not a string", scale, {"static_argnames": 1}),
    ("a donated number past the parameters", scale, {"donate_argnums": 2}),
]


@pytest.mark.parametrize("fun, options", [c[1:] for c in BAD_OPTIONS], ids=[c[0] for c in BAD_OPTIONS])
def test_names_and_numbers_a_function_does_not_take_fail_at_jit_as_in_jax(fun, options):
    assert_same_outcome(outcome(lambda: irax.jit(fun, **options)), outcome(lambda: jax.jit(fun, **options)))
    assert isinstance(outcome(lambda: irax.jit(fun, **options)), (ValueError, TypeError))


def test_a_function_that_is_not_callable_fails_as_in_jax():
    assert_same_outcome(outcome(lambda: irax.jit(3)), outcome(lambda: jax.jit(3)))


class Key:
    """A static value compared by its own __hash__/__eq__; its dict attribute
    makes its __dict__ (and any flattening of it) unhashable."""

    def __init__(self, n):
        self.n, self.options = n, {"unused": True}

    def __hash__(self):
        return hash(self.n)

    def __eq__(self, other):
        return isinstance(other, Key) and other.n == self.n


def test_a_new_static_value_retraces_an_equal_one_does_not():
    """1, 1.0 and True are equal and hash alike, yet shape different programs
    (a weakly typed int, float or bool); equal objects of a user class are one."""
    values = (1, 1, 1.0, True, 2, Key(1), Key(1), Key(2), "a", "a")

    def trace_counts(lib):
        traces = []

        @functools.partial(lib.jit, static_argnums=1)
        def f(x, n):
            traces.append(n)
            return x * 2

        return [(f(X, v), len(traces))[1] for v in values]

    assert trace_counts(irax) == trace_counts(jax) == [1, 1, 2, 3, 4, 5, 5, 6, 7, 7]


def model_class(lib):
    """A model whose methods take `self` static, registered as a pytree whose
    aux data (a dict) is unhashable, as libraries of models do."""

    @lib.tree_util.register_pytree_node_class
    class Model:
        traces = []

        def __init__(self, weight, options):
            self.weight, self.options = weight, options

        def tree_flatten(self):
            return (self.weight,), self.options

        @classmethod
        def tree_unflatten(cls, options, children):
            return cls(children[0], options)

        def __hash__(self):
            return hash(self.options["power"])

        def __eq__(self, other):
            return isinstance(other, Model) and other.options == self.options

        @functools.partial(lib.jit, static_argnums=0)
        def by_number(self, x):
            Model.traces.append("by_number")
            return x ** self.options["power"]

        @functools.partial(lib.jit, static_argnames="self")
        def by_name(self, x):  # `self` arrives by position: the name must cover it
            Model.traces.append("by_name")
            return x ** self.options["power"]

    return Model


@pytest.mark.parametrize("method", ["by_number", "by_name"])
def test_self_is_static_in_a_method_compared_by_its_hash_and_eq(method):
    def run(lib):
        Model = model_class(lib)
        outs = [getattr(Model(1.0, {"power": p}), method)(X) for p in (2, 2, 3)]  # two equal models, one new
        return [np.asarray(o) for o in outs], len(Model.traces)

    (ours, our_traces), (theirs, their_traces) = run(irax), run(jax)
    np.testing.assert_allclose(np.stack(ours), np.stack(theirs), rtol=1e-6)
    assert our_traces == their_traces == 2


# ---------------------------------------------------------------------------
# disable_jit: jitted functions as plain Python.

def show_and_branch(x):
    print("x is", x)
    if x.sum() > 0:  # Python control flow on a value: only without jit
        return x * 2
    return -x


def test_disable_jit_runs_python_control_flow_and_print_on_values(capsys):
    outs, printed = {}, {}
    for name, lib in LIBRARIES.items():
        f = lib.jit(show_and_branch)
        with lib.disable_jit():
            outs[name] = [np.asarray(f(v)) for v in (X, -X)]
        printed[name] = capsys.readouterr().out
        assert isinstance(outcome(lambda: f(X)), lib.errors.ConcretizationTypeError)  # jit again after the block
        capsys.readouterr()  # what it printed (a tracer)
    assert printed["irax"] == printed["jax"] == "x is [1. 2. 3.]\nx is [-1. -2. -3.]\n"
    np.testing.assert_array_equal(np.stack(outs["irax"]), np.stack(outs["jax"]))


def test_disable_jit_calls_the_function_every_time_and_skips_static_checks():
    def run(lib):
        calls = []
        f = lib.jit(lambda x, n: calls.append(n) or x * len(n), static_argnums=1)
        with lib.disable_jit():
            out = [np.asarray(f(X, [1, 2])) for _ in range(2)]  # a list: not hashable, fine unjitted
            with lib.disable_jit(False):
                out.append(outcome(lambda: f(X, [1, 2])))
        return out, len(calls)

    (ours, our_calls), (theirs, their_calls) = run(irax), run(jax)
    np.testing.assert_array_equal(np.stack(ours[:2]), np.stack(theirs[:2]))
    assert_same_outcome(ours[2], theirs[2])
    assert our_calls == their_calls == 2


def test_disable_jit_is_also_the_setting_jax_disable_jit(monkeypatch):
    calls = []
    f = irax.jit(lambda x: calls.append(1) or x + 1)
    monkeypatch.setattr(irax.config, "irax_disable_jit", irax.config.irax_disable_jit)  # put back after
    irax.config.update("jax_disable_jit", True)
    assert irax.config.irax_disable_jit is irax.config.jax_disable_jit is True
    f(X), f(X)
    assert len(calls) == 2
    with irax.disable_jit(False):  # the block's value wins over the setting
        f(X), f(X)
    assert len(calls) == 3


def test_disable_jit_holds_in_its_own_thread_only():
    def calls_in_another_thread(lib):
        calls = []
        f = lib.jit(lambda x: calls.append(1) or x + 1)
        with lib.disable_jit():
            other = threading.Thread(target=lambda: (f(X), f(X)))
            other.start()
            other.join()
        return len(calls)

    assert calls_in_another_thread(irax) == calls_in_another_thread(jax) == 1  # traced once, jitted
