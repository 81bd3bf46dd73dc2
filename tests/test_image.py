"""irax.image against jax.image: values, dtypes, gradients and errors.

One image, X (batch 2, 5 x 7 pixels, 3 channels), resized up (UP) and down
(DOWN) in its two middle dims, shared by every method: each (shape, method,
antialias) is one program."""
import numpy as np
import pytest

import irax
import irax.image
from irax.frontend.array import Array

from helpers import TOL, check_central_differences

jax = pytest.importorskip("jax")
jimage = jax.image

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, (2, 5, 7, 3)).astype(np.float32)
UP, DOWN = (2, 9, 11, 3), (2, 3, 4, 3)
METHODS = ["nearest", "linear", "lanczos3", "lanczos5", "cubic", "cubic-pytorch", "area"]
SCALE, TRANSLATION = np.array([1.7, 0.6], np.float32), np.array([0.35, -0.75], np.float32)  # off every kink


def check(actual, expected, tol=TOL[np.dtype(np.float32)]):
    """Same dtype, weak type, shape and values (to `tol`) as JAX's result."""
    assert isinstance(actual, Array)
    assert (actual.dtype, actual.weak_type, actual.shape) == (expected.dtype, expected.weak_type, expected.shape)
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("shape", [UP, DOWN], ids=["up", "down"])
@pytest.mark.parametrize("method", METHODS)
def test_resize_matches_jax(method, shape, antialias):
    expected = jimage.resize(X, shape, method, antialias=antialias)
    check(irax.image.resize(X, shape, method, antialias=antialias), expected)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.float16])
@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_resize_dtypes_as_jax(method, dtype):
    """NEAREST keeps the dtype; the others promote integers and bools to float32."""
    x = (X * 60).astype(dtype)
    check(irax.image.resize(x, UP, method), jimage.resize(x, UP, method), TOL.get(np.dtype(dtype), 1e-5))


def test_method_names_as_jax():
    assert [(m.name, m.value) for m in irax.image.ResizeMethod] == [(m.name, m.value) for m in jimage.ResizeMethod]
    names = ["nearest", "linear", "bilinear", "trilinear", "triangle", "lanczos3", "lanczos5", "cubic", "bicubic",
             "tricubic", "cubic-pytorch", "bicubic-pytorch", "area"]
    for name in names:
        assert irax.image.ResizeMethod.from_string(name).name == jimage.ResizeMethod.from_string(name).name
    # a name and its member are one program: no compile here
    check(irax.image.resize(X, UP, irax.image.ResizeMethod.LINEAR), jimage.resize(X, UP, "bilinear"))


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("method", METHODS[1:])
def test_scale_and_translate_matches_jax(method, antialias):
    """Dim 1 stretched by 1.7, dim 2 shrunk by 0.6, both shifted: the output
    pixels that sample outside the image are 0."""
    args = (UP, (1, -2), SCALE, TRANSLATION, method, antialias)
    check(irax.image.scale_and_translate(X, *args), jimage.scale_and_translate(X, *args))


def test_no_resized_dims():
    """An integer image with nothing to resize is still promoted to float32."""
    x = X.astype(np.int32)
    check(irax.image.resize(x, X.shape, "cubic"), jimage.resize(x, X.shape, "cubic"))
    empty = np.zeros(0, np.float32)
    check(irax.image.scale_and_translate(x, X.shape, (), empty, empty, "linear"),
          jimage.scale_and_translate(x, X.shape, (), empty, empty, "linear"))


def test_jit_and_vmap():
    def resize(x):
        return irax.image.resize(x, UP[1:], "lanczos3")
    expected = jimage.resize(X, UP, "lanczos3")
    check(irax.jit(irax.vmap(resize))(X), expected)
    check(irax.vmap(lambda s: irax.image.scale_and_translate(X, UP, (1, 2), s, TRANSLATION, "linear"))(
        np.stack([SCALE, SCALE[::-1]])),
        jax.vmap(lambda s: jimage.scale_and_translate(X, UP, (1, 2), s, TRANSLATION, "linear"))(
            np.stack([SCALE, SCALE[::-1]])))


GRADIENT_METHODS = ["linear", "lanczos3", "cubic", "area"]
WARP_METHODS = ["linear", "cubic", "area"]  # not lanczos: its sines' derivatives take ~8 s to compile
WEIGHTS = rng.normal(size=UP).astype(np.float32)


def _weighted(image_module, x, warp, method):
    """A scalar of scale_and_translate's output; warp is (scale..., translation...)."""
    out = image_module.scale_and_translate(x, UP, (1, 2), warp[:2], warp[2:], method)
    return (out * WEIGHTS).sum()


def test_gradients_match_jax_and_finite_differences():
    """d/d(image) of resize (nearest: a gather) and scale_and_translate, and d/d(scale, translation)
    of scale_and_translate, each method's in one program, against jax.grad;
    the warp's against central differences too (the image's is linear)."""
    warp = np.concatenate([SCALE, TRANSLATION])

    def images(xs):
        return sum((irax.image.resize(x, UP, "nearest") * WEIGHTS).sum() + _weighted(irax.image, x, warp, m)
                   for m, x in xs.items())

    ours = irax.grad(images)({m: X for m in GRADIENT_METHODS})
    for m in GRADIENT_METHODS:
        theirs = jax.grad(lambda x: (jimage.resize(x, UP, "nearest") * WEIGHTS).sum()
                          + _weighted(jimage, x, warp, m))(X)
        np.testing.assert_allclose(np.asarray(ours[m]), np.asarray(theirs), rtol=2e-5, atol=2e-5, err_msg=m)

    def values(warps):
        return {m: _weighted(irax.image, X, w, m) for m, w in warps.items()}

    points = {m: warp for m in WARP_METHODS}
    ours = irax.grad(lambda ws: sum(values(ws).values()))(points)
    for m in WARP_METHODS:
        theirs = jax.grad(lambda w: _weighted(jimage, X, w, m))(warp)
        np.testing.assert_allclose(np.asarray(ours[m]), np.asarray(theirs), rtol=1e-4, atol=1e-4, err_msg=m)
    check_central_differences(ours, irax.jit(values), points, warp.shape, eps=1e-3)


@pytest.mark.parametrize("call, error, match", [
    (lambda image: image.resize(X, UP[:3], "linear"), ValueError, "shape must have length equal to the number"),
    (lambda image: image.resize(X, UP, "bogus"), ValueError, 'Unknown resize method "bogus"'),
    (lambda image: image.resize(X, (2, 9, 1.5, 3), "linear"), TypeError, "Shapes must be 1D sequences"),
    (lambda image: image.scale_and_translate(X, UP, (1, 2), SCALE, TRANSLATION, "nearest"), ValueError,
     "Nearest neighbor resampling is not currently supported"),
    (lambda image: image.scale_and_translate(X, UP, (1, 4), SCALE, TRANSLATION, "linear"), ValueError,
     "axis 4 is out of bounds for array of dimension 4"),
])
def test_errors_as_jax(call, error, match):
    for module in (irax.image, jimage):
        with pytest.raises(error, match=match):
            call(module)
