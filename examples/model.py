"""A small model to try the `irax` command on (docs/debugging.md, tests/test_cli.py).

    irax ir examples/model.py:loss --arg '{"w": "f32[3,2]", "b": "f32[2]"}' --arg f32[4,3] --arg f32[4,2]
    irax ir examples/model.py:loss --arg ... --grad 0 --stage after_ad      # the gradient's IR
"""
import irax.numpy as jnp


def predict(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])


def loss(params, x, y):
    """Mean squared error of `predict` against targets `y` (same shape)."""
    return jnp.mean((predict(params, x) - y) ** 2)


def loss_with_a_bug(params, x, y):
    """The same for one output (w: f32[3,1]) and targets `y` of shape (batch,),
    with a classic bug: the prediction has shape (batch, 1), so `pred - y`
    broadcasts to (batch, batch) and the loss (and its gradient) is wrong."""
    return jnp.mean((predict(params, x) - y) ** 2)
