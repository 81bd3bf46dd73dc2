"""Names for traced ops: `irax.named_scope` and `irax.named_call`.

    with irax.named_scope("layer1"):
        y = jnp.sin(x)                 # traced: its op's location is "layer1/sin"

Like JAX, which puts the names in the HLO's metadata, these only label the
program: an op traced inside the scopes gets an MLIR location named by the
scopes, outermost first, and its primitive (`loc("layer1/sin")`), which
`irax.jit(f).lower(x).as_text(debug_info=True)` shows. Nothing else changes:
eager ops, values and the programs' cache keys (their text without
locations) are the same.
"""
import contextlib
import functools
import threading
from typing import Any, Callable, Iterator


class _Stack(threading.local):
    names: tuple = ()  # the active scopes, outermost first; read from the class until a thread sets its own


_stack = _Stack()


def current_names() -> tuple:
    """The active scopes' names, outermost first."""
    return _stack.names


@contextlib.contextmanager
def named_scope(name: str) -> Iterator[None]:
    """jax.named_scope: ops traced in the block carry `name` (and the
    enclosing scopes' names) in their MLIR location."""
    if not isinstance(name, str):
        raise TypeError("named_scope name argument must be a string.")
    outer = _stack.names
    _stack.names = outer + (name,)
    try:
        yield
    finally:
        _stack.names = outer


def named_call(fun: Callable, *, name: str | None = None) -> Callable[..., Any]:
    """jax.named_call: `fun`, whose traced ops carry `name` (default: its
    __name__) in their locations, as under named_scope(name)."""
    if name is None:
        name = fun.__name__

    @functools.wraps(fun)
    def named(*args, **kwargs):
        with named_scope(str(name)):
            return fun(*args, **kwargs)

    return named
