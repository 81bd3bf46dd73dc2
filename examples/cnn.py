"""A small convolutional network trained on generated images (a few seconds).

    .venv/bin/python examples/cnn.py

The images are 12x12 noise with one bar across them, horizontal (class 0)
or vertical (class 1). The network: 3x3 convolution (8 filters), relu, 2x2
max pool, 3x3 convolution (16 filters), relu, mean over the image, dense
layer to 2 logits, initialised the JAX way (irax.random keys, He and Glorot
initializers: the weights JAX draws for the same key); trained with SGD on
softmax cross-entropy under jit.
"""
import numpy as np

import irax
import irax.nn as nn
import irax.numpy as jnp
from irax import lax

NHWC = ("NHWC", "HWIO", "NHWC")


def images(rng, n, size=12):
    labels = rng.integers(0, 2, n)
    x = rng.normal(0, 0.5, (n, size, size, 1)).astype(np.float32)
    at = rng.integers(2, size - 2, n)
    for i, (label, k) in enumerate(zip(labels, at)):
        if label == 0:
            x[i, k, :, 0] += 2.0
        else:
            x[i, :, k, 0] += 2.0
    return x, labels


def init(key):
    conv, dense = nn.initializers.he_normal(), nn.initializers.glorot_uniform()
    k1, k2, k3 = irax.random.split(key, 3)
    return {"conv1": conv(k1, (3, 3, 1, 8)), "conv2": conv(k2, (3, 3, 8, 16)), "dense": dense(k3, (16, 2)),
            "bias": jnp.zeros(2)}


def predict(params, x):
    h = nn.relu(lax.conv_general_dilated(x, params["conv1"], (1, 1), "SAME", dimension_numbers=NHWC))
    h = lax.reduce_window(h, -np.inf, jnp.maximum, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = nn.relu(lax.conv_general_dilated(h, params["conv2"], (1, 1), "SAME", dimension_numbers=NHWC))
    return jnp.mean(h, axis=(1, 2)) @ params["dense"] + params["bias"]


def loss(params, x, labels):
    return -jnp.mean(jnp.sum(nn.one_hot(labels, 2) * nn.log_softmax(predict(params, x)), axis=-1))


@irax.jit
def step(params, x, labels):
    value, grads = irax.value_and_grad(loss)(params, x, labels)
    return irax.tree.map(lambda p, g: p - 0.5 * g, params, grads), value


def accuracy(params, x, labels):
    return float(np.mean(np.argmax(np.asarray(irax.jit(predict)(params, x)), axis=-1) == labels))


def main():
    rng = np.random.default_rng(0)
    params = init(irax.random.key(0))
    test_x, test_labels = images(rng, 256)
    print(f"accuracy before training: {accuracy(params, test_x, test_labels):.2f}")
    for i in range(100):
        params, value = step(params, *images(rng, 64))
        if i % 50 == 0:
            print(f"step {i:3d}  loss {float(value):.3f}")
    print(f"accuracy after training:  {accuracy(params, test_x, test_labels):.2f}")


if __name__ == "__main__":
    main()
