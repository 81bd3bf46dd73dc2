"""A walk through irax's NumPy-like API. Run: .venv/bin/python examples/demo.py

Every operation below is traced to MLIR, compiled by IREE for this CPU (once:
kernels are cached in memory and on disk) and run on IREE's runtime.
"""
import numpy as np

import irax
import irax.numpy as jnp


def show(title, value):
    print(f"{title:<38} {value!r}")


print("irax", irax.__version__, "on", irax.devices())
print()

# Arrays: 32-bit by default, immutable, printed like JAX's.
x = jnp.arange(10)
print(x)
show("jnp.arange(10)", x)
show("jnp.array([1.5, 2.5]) * 2", jnp.array([1.5, 2.5]) * 2)
show("jnp.linspace(0, 1, 5)", jnp.linspace(0, 1, 5))
show("jnp.eye(2)", jnp.eye(2))

# Type promotion follows JAX: Python scalars are weakly typed.
show("jnp.arange(3, dtype=jnp.uint8) + 3", jnp.arange(3, dtype=jnp.uint8) + 3)
show("jnp.arange(3) / 2", jnp.arange(3) / 2)

# Elementwise math, broadcasting, reductions.
m = jnp.arange(12.0).reshape(3, 4)
show("m.sum(axis=0)", m.sum(axis=0))
show("jnp.mean(m, axis=1, keepdims=True)", jnp.mean(m, axis=1, keepdims=True))
show("jnp.tanh(m[0]) * 2 + m[1]", jnp.tanh(m[0]) * 2 + m[1])
show("jnp.argmax(m, axis=1)", jnp.argmax(m, axis=1))

# Linear algebra.
show("m @ m.T", m @ m.T)
show("jnp.einsum('ij,j->i', m, m[0])", jnp.einsum("ij,j->i", m, m[0]))
v = jnp.arange(int(1e7))
show("jnp.dot(v, v)  (int32 wraps, as in JAX)", jnp.dot(v, v).block_until_ready())

# Indexing, and updates that return new arrays.
show("m[1:, ::2]", m[1:, ::2])
show("m[jnp.array([2, 0])]", m[jnp.array([2, 0])])
y = jnp.array([1, 2, 3])
show("y.at[0].set(123)", y.at[0].set(123))
show("y (unchanged)", y)
try:
    y[0] = 5
except TypeError as e:
    print("y[0] = 5 ->", type(e).__name__ + ":", str(e).split(".")[0] + ".")

# Shapes.
show("jnp.concatenate([y, y])", jnp.concatenate([y, y]))
show("jnp.stack([y, y], axis=1).shape", jnp.stack([y, y], axis=1).shape)
w, b = jnp.array([0.5, -1.0])
print(f"unpacking and formatting: w={w:<.2f} b={b:.2f}")
show("np.asarray(y)", np.asarray(y))
