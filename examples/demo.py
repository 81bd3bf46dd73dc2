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
    print("y[0] = 5 ->", type(e).__name__ + ":", str(e))

# Shapes.
show("jnp.concatenate([y, y])", jnp.concatenate([y, y]))
show("jnp.stack([y, y], axis=1).shape", jnp.stack([y, y], axis=1).shape)
w, b = jnp.array([0.5, -1.0])
print(f"unpacking and formatting: w={w:<.2f} b={b:.2f}")
show("np.asarray(y)", np.asarray(y))

# ---------------------------------------------------------------------------
print("\nAutodiff: gradients are an MLIR pass over the traced function")
show("irax.grad(jnp.tanh)(1.0)", irax.grad(jnp.tanh)(1.0))
show("irax.grad(irax.grad(jnp.tanh))(1.0)", irax.grad(irax.grad(jnp.tanh))(1.0))

# Linear regression: y = 3x - 1 + noise, 1000 steps of gradient descent.
rng = np.random.default_rng(0)
xs = rng.normal(size=(100,)).astype(np.float32)
ys = (3 * xs - 1 + 0.1 * rng.normal(size=(100,))).astype(np.float32)


def model(theta, x):
    w, b = theta
    return w * x + b


def loss_fn(theta, x, y):
    return jnp.mean((model(theta, x) - y) ** 2)


def update(theta, x, y, lr=0.1):
    return theta - lr * irax.grad(loss_fn)(theta, x, y)


theta = jnp.array([1.0, 1.0])
for _ in range(1000):
    theta = update(theta, xs, ys)
w, b = theta
print(f"linear regression, 1000 steps: w={w:<.2f} b={b:<.2f}   (true: w=3.00 b=-1.00)")

# A small MLP on synthetic data; parameters are a pytree (list of dicts).
x_train = rng.uniform(-2, 2, size=(256, 2)).astype(np.float32)
y_train = (np.sin(x_train[:, :1]) * np.cos(x_train[:, 1:])).astype(np.float32)


def init_mlp(sizes):
    return [
        {"w": jnp.asarray(rng.normal(size=(m, n)).astype(np.float32) / np.sqrt(m)), "b": jnp.zeros(n)}
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def mlp(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def mlp_loss(params, x, y):
    return jnp.mean((mlp(params, x) - y) ** 2)


params = init_mlp([2, 32, 32, 1])
print(f"MLP 2-32-32-1, initial loss {float(mlp_loss(params, x_train, y_train)):.4f}")
loss_and_grad = irax.value_and_grad(mlp_loss)
for step in range(300):
    loss, grads = loss_and_grad(params, x_train, y_train)
    params = irax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
print(f"MLP after 300 steps: loss {float(loss):.4f}")
