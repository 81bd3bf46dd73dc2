"""`irax.example_libraries.stax`, as `jax.example_libraries.stax`: a neural
network is a *layer*, a pair of functions

    init_fun(rng, input_shape) -> (output_shape, params)
    apply_fun(params, inputs, **kwargs) -> outputs        (kwargs: rng=, ...)

and layers compose with `serial` (one after another) and `parallel` (side by
side, on a list of inputs), with `FanOut` and `FanIn*` to split and join.
Shapes may have -1 for a dimension not yet known (the batch): it passes
through to the output shape. Weights are drawn by `irax.nn.initializers`
from `irax.random` keys, so a key gives JAX's weights.

Layer constructors are CamelCase (`Dense(10)`); a layer without options is
the pair itself (`Relu`, `Flatten`, `FanInSum`).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import irax.numpy as jnp
from irax import lax, random
from irax.frontend.convolution import _conv_transpose_padding
from irax.nn import elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax, softplus, standardize
from irax.nn.initializers import glorot_normal, normal, ones, zeros
from irax.typing import Array

Shape = Sequence[int]
InitFun = Callable[..., tuple[Any, Any]]
ApplyFun = Callable[..., Any]
Layer = tuple[InitFun, ApplyFun]
Initializer = Callable[..., Array]
Padding = str | Sequence[tuple[int, int]]

__all__ = ["AvgPool", "BatchNorm", "Conv", "Conv1DTranspose", "ConvTranspose", "Dense", "Dropout", "Elu", "Exp",
           "FanInConcat", "FanInSum", "FanOut", "Flatten", "Gelu", "GeneralConv", "GeneralConvTranspose", "Identity",
           "LeakyRelu", "LogSoftmax", "MaxPool", "Relu", "Selu", "Sigmoid", "Softmax", "Softplus", "SumPool", "Tanh",
           "elementwise", "glorot", "logsoftmax", "parallel", "randn", "serial", "shape_dependent"]

# JAX's older names, kept by its stax.
glorot = glorot_normal
randn = normal
logsoftmax = log_softmax


def _windowed(sizes, windows, strides, pads):
    """Output sizes of windows sliding over `sizes` padded by `pads`:
    (n + lo + hi - k) // s + 1 (no clamp at 0, so an unknown -1 stays -1)."""
    return [(n + lo + hi - k) // s + 1 for n, k, s, (lo, hi) in zip(sizes, windows, strides, pads)]


def _conv_shape(input_shape, kernel_shape, strides, padding, dimension_numbers, transposed):
    """The output shape of `lax.conv_general_dilated` (`lax.conv_transpose`
    when `transposed`: the input dilated by the strides, convolved with
    stride 1 and the padding that transposes `padding`), as JAX's
    `conv_general_shape_tuple` / `conv_transpose_shape_tuple`."""
    dn = lax.conv_dimension_numbers(input_shape, kernel_shape, dimension_numbers)
    sizes = [input_shape[d] for d in dn.lhs_spec[2:]]
    windows = [kernel_shape[d] for d in dn.rhs_spec[2:]]
    if transposed:
        per_dim = [padding] * len(sizes) if isinstance(padding, str) else padding
        pads = [_conv_transpose_padding(k, s, p) if isinstance(p, str) else p
                for k, s, p in zip(windows, strides, per_dim)]
        sizes, strides = [(n - 1) * s + 1 for n, s in zip(sizes, strides)], [1] * len(sizes)
    else:
        pads = lax.padtype_to_pads(sizes, windows, strides, padding) if isinstance(padding, str) else padding
    out = [0] * len(input_shape)
    out[dn.out_spec[0]], out[dn.out_spec[1]] = input_shape[dn.lhs_spec[0]], kernel_shape[dn.rhs_spec[0]]
    for d, n in zip(dn.out_spec[2:], _windowed(sizes, windows, strides, pads)):
        out[d] = n
    return tuple(out)


def Dense(out_dim: int, W_init: Initializer = glorot_normal(), b_init: Initializer = normal()) -> Layer:
    """A fully connected layer, `inputs @ W + b` with W of shape
    (input_shape[-1], out_dim) and b of shape (out_dim,)."""
    def init_fun(rng, input_shape):
        k1, k2 = random.split(rng)
        return tuple(input_shape[:-1]) + (out_dim,), (W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,)))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return jnp.dot(inputs, W) + b
    return init_fun, apply_fun


def _general_conv(transposed, dimension_numbers, out_chan, filter_shape, strides, padding, W_init, b_init):
    """A convolution layer, `conv(inputs, W) + b`: W has the kernel spec's
    layout ('O' = out_chan, 'I' = the input's channels, the spatial letters
    `filter_shape` in order), b is out_chan values broadcast along the output
    spec's other dims; W glorot-normal over its I and O axes by default."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    strides = tuple(strides or (1,) * len(filter_shape))
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        spatial = iter(filter_shape)
        kernel_shape = [out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I" else next(spatial)
                        for c in rhs_spec]
        output_shape = _conv_shape(input_shape, kernel_shape, strides, padding, dimension_numbers, transposed)
        k1, k2 = random.split(rng)
        return output_shape, (W_init(k1, kernel_shape), b_init(k2, [out_chan if c == "C" else 1 for c in out_spec]))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        if transposed:
            return lax.conv_transpose(inputs, W, strides, padding, dimension_numbers=dimension_numbers) + b
        return lax.conv_general_dilated(inputs, W, strides, padding, dimension_numbers=dimension_numbers) + b
    return init_fun, apply_fun


def GeneralConv(dimension_numbers: tuple[str, str, str], out_chan: int, filter_shape: Shape,
                strides: Shape | None = None, padding: Padding = "VALID", W_init: Initializer | None = None,
                b_init: Initializer = normal(1e-6)) -> Layer:
    """A convolution layer, `lax.conv_general_dilated(inputs, W, strides,
    padding, dimension_numbers=...) + b`, with `out_chan` output channels
    and a kernel of spatial shape `filter_shape`."""
    return _general_conv(False, dimension_numbers, out_chan, filter_shape, strides, padding, W_init, b_init)


def GeneralConvTranspose(dimension_numbers: tuple[str, str, str], out_chan: int, filter_shape: Shape,
                         strides: Shape | None = None, padding: Padding = "VALID", W_init: Initializer | None = None,
                         b_init: Initializer = normal(1e-6)) -> Layer:
    """A transposed convolution layer, `lax.conv_transpose(inputs, W,
    strides, padding, dimension_numbers=...) + b` (the input dilated by the
    strides: each output is `strides` times as large, less the padding)."""
    return _general_conv(True, dimension_numbers, out_chan, filter_shape, strides, padding, W_init, b_init)


Conv = functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))
Conv1DTranspose = functools.partial(GeneralConvTranspose, ("NHC", "HIO", "NHC"))
ConvTranspose = functools.partial(GeneralConvTranspose, ("NHWC", "HWIO", "NHWC"))


def BatchNorm(axis: int | Sequence[int] = (0, 1, 2), epsilon: float = 1e-5, center: bool = True, scale: bool = True,
              beta_init: Initializer = zeros, gamma_init: Initializer = ones) -> Layer:
    """Batch normalization over `axis`:

        y = gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta

    mean and var over `axis` (the batch statistics, nothing kept for
    inference); beta and gamma have the shape of the other axes, () when
    `center` / `scale` is off (then that term is left out)."""
    axis = (axis,) if jnp.isscalar(axis) else tuple(axis)

    def init_fun(rng, input_shape):
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k1, k2 = random.split(rng)
        return input_shape, (beta_init(k1, shape) if center else (), gamma_init(k2, shape) if scale else ())

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        kept = tuple(None if i in axis else slice(None) for i in range(jnp.ndim(x)))
        z = standardize(x, axis, epsilon=epsilon)
        z = gamma[kept] * z if scale else z
        return z + beta[kept] if center else z
    return init_fun, apply_fun


def elementwise(fun: Callable[..., Array], **fun_kwargs: Any) -> Layer:
    """A layer without parameters applying `fun(inputs, **fun_kwargs)`."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)
    return init_fun, apply_fun


Tanh = elementwise(jnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(jnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


def _pool(computation, init_value, average, window_shape, strides, padding, spec):
    """`lax.reduce_window` over the spatial dims: the window and strides
    (one per spatial dim) get 1 inserted at N and C (`spec`'s, or the first
    and last dims). An average divides each window's sum by its count of
    input elements (the padding's excluded), the sum pool of ones."""
    strides = tuple(strides or (1,) * len(window_shape))
    window, strides = list(window_shape), list(strides)
    for i in sorted((0, len(window) + 1) if spec is None else (spec.index("N"), spec.index("C"))):
        window.insert(i, 1)
        strides.insert(i, 1)
    window, strides = tuple(window), tuple(strides)

    def init_fun(rng, input_shape):
        pads = lax.padtype_to_pads(input_shape, window, strides, padding) if isinstance(padding, str) else padding
        return tuple(_windowed(input_shape, window, strides, pads)), ()

    def apply_fun(params, inputs, **kwargs):
        out = lax.reduce_window(inputs, init_value, computation, window, strides, padding)
        if average:
            out = out / lax.reduce_window(jnp.ones_like(inputs), 0., lax.add, window, strides, padding)
        return out
    return init_fun, apply_fun


def MaxPool(window_shape: Shape, strides: Shape | None = None, padding: Padding = "VALID",
            spec: str | None = None) -> Layer:
    """The maximum of each window (padding is -inf): `window_shape` and
    `strides` name the spatial dims, `spec` (default 'N...C') the layout."""
    return _pool(lax.max, -jnp.inf, False, window_shape, strides, padding, spec)


def SumPool(window_shape: Shape, strides: Shape | None = None, padding: Padding = "VALID",
            spec: str | None = None) -> Layer:
    """The sum of each window (padding is 0), as `MaxPool` lays it out."""
    return _pool(lax.add, 0., False, window_shape, strides, padding, spec)


def AvgPool(window_shape: Shape, strides: Shape | None = None, padding: Padding = "VALID",
            spec: str | None = None) -> Layer:
    """The mean of each window's input elements (padding not counted), as
    `MaxPool` lays it out."""
    return _pool(lax.add, 0., True, window_shape, strides, padding, spec)


def _flatten_init(rng, input_shape):
    return (input_shape[0], math.prod(input_shape[1:])), ()


def _flatten_apply(params, inputs, **kwargs):
    return jnp.reshape(inputs, (inputs.shape[0], -1))


Flatten = (_flatten_init, _flatten_apply)  # all dims but the first into one
Identity = elementwise(lambda inputs: inputs)


def FanOut(num: int) -> Layer:
    """`num` copies of the input, as a list (for `parallel`)."""
    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num
    return init_fun, apply_fun


def _fan_in_sum_init(rng, input_shape):
    return input_shape[0], ()


def _fan_in_sum_apply(params, inputs, **kwargs):
    return sum(inputs)


FanInSum = (_fan_in_sum_init, _fan_in_sum_apply)  # the sum of a list of inputs of one shape


def FanInConcat(axis: int = -1) -> Layer:
    """A list of inputs concatenated along `axis`."""
    def init_fun(rng, input_shape):
        ax = axis % len(input_shape[0])
        first = tuple(input_shape[0])
        return first[:ax] + (sum(shape[ax] for shape in input_shape),) + first[ax + 1:], ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.concatenate(inputs, axis)
    return init_fun, apply_fun


def Dropout(rate: float, mode: str = "train") -> Layer:
    """In mode 'train', each input kept with probability `rate` (JAX's stax
    calls the keep probability the rate) and scaled by 1 / rate, the others
    0, drawn from the `rng=` key apply_fun needs; in any other mode the
    identity."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.get("rng")
        if rng is None:
            raise ValueError(
                "Dropout layer requires apply_fun to be called with a PRNG key argument. That is, instead of "
                "`apply_fun(params, inputs)`, call it like `apply_fun(params, inputs, rng)` where `rng` is a PRNG "
                "key (e.g. from `jax.random.key`).")
        if mode != "train":
            return inputs
        return jnp.where(random.bernoulli(rng, rate, inputs.shape), inputs / rate, 0)
    return init_fun, apply_fun


def serial(*layers: Layer) -> Layer:
    """The layers one after another: init splits its key once per layer,
    `rng, layer_rng = split(rng)`, and threads the shape through; apply gives
    layer i the i-th key of `split(rng, len(layers))` (None without `rng=`).
    The params are a list, one entry per layer."""
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        params = []
        for init in init_funs:
            rng, layer_rng = random.split(rng)
            input_shape, param = init(layer_rng, input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, len(layers)) if rng is not None else (None,) * len(layers)
        for apply, param, layer_rng in zip(apply_funs, params, rngs):
            inputs = apply(param, inputs, rng=layer_rng, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers: Layer) -> Layer:
    """The layers side by side: layer i takes the i-th of a list of inputs
    (shapes) and key i of `split(rng, len(layers))`; the outputs are a list.
    Usually between `FanOut` and a `FanIn*`."""
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        rngs = random.split(rng, len(layers))
        shapes, params = zip(*[init(r, shape) for init, r, shape in zip(init_funs, rngs, input_shape)])
        return shapes, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, len(layers)) if rng is not None else (None,) * len(layers)
        return [apply(p, x, rng=r, **kwargs) for apply, p, x, r in zip(apply_funs, params, inputs, rngs)]
    return init_fun, apply_fun


def shape_dependent(make_layer: Callable[[Shape], Layer]) -> Layer:
    """A layer made by `make_layer(input_shape)` once the input's shape is
    known (at init, and again from `inputs.shape` at each apply)."""
    def init_fun(rng, input_shape):
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return make_layer(inputs.shape)[1](params, inputs, **kwargs)
    return init_fun, apply_fun
