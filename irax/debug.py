"""`irax.debug`: see values while a compiled program runs, as `jax.debug`.

    irax.debug.print("x = {x}", x=x)     # prints when the program runs, inside jit and grad too
    irax.debug.callback(fn, x)           # fn(NumPy x) when the program runs

How it works, and what irax guarantees of when they run: irax/frontend/callbacks.py.
"""
from irax.frontend import callbacks

print = callbacks.debug_print
callback = callbacks.debug_callback

__all__ = ["callback", "print"]
