"""`irax.debug`: see values while a compiled program runs, as `jax.debug`.

    irax.debug.print("x = {x}", x=x)     # prints when the program runs, inside jit and grad too
    irax.debug.callback(fn, x)           # fn(NumPy x) when the program runs
    irax.debug.breakpoint()              # a debugger on the caller's variables, where the program gets here

How it works, and what irax guarantees of when they run: irax/frontend/callbacks.py.
"""
from irax.frontend import callbacks, debugger

print = callbacks.debug_print
callback = callbacks.debug_callback
breakpoint = debugger.breakpoint

__all__ = ["breakpoint", "callback", "print"]
