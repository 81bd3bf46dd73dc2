"""Typed PRNG key arrays (irax.random.key) through the structural functions
of irax.numpy and irax.lax, their methods, indexing and `.at`, against JAX:
the same keys in the same places (compared through key_data), eagerly,
under jit and under vmap, and JAX's errors where JAX refuses. Every case
starts from the same (2, 3) array of keys."""
import numpy as np
import pytest

import irax

jax = pytest.importorskip("jax")


def _keys(module):
    return module.random.split(module.random.key(0), 6).reshape(2, 3)


INDICES = np.array([[2, 0, 1], [0, 0, 2]], np.int32)

# name -> function of (numpy module, lax module, the (2, 3) keys)
CASES = {
    "reshape": lambda np_, lax, x: np_.reshape(x, (3, 2)),
    "reshape -1": lambda np_, lax, x: np_.reshape(x, (-1,)),
    "ravel": lambda np_, lax, x: np_.ravel(x),
    "expand_dims": lambda np_, lax, x: np_.expand_dims(x, (0, -1)),
    "squeeze": lambda np_, lax, x: np_.squeeze(x[:1]),
    "squeeze axis": lambda np_, lax, x: np_.squeeze(np_.expand_dims(x, 1), axis=1),
    "atleast_3d": lambda np_, lax, x: np_.atleast_3d(x[0]),
    "broadcast_to": lambda np_, lax, x: np_.broadcast_to(x[:1], (4, 3)),
    "broadcast_to scalar": lambda np_, lax, x: np_.broadcast_to(x[0, 0], (2, 3)),
    "flip": lambda np_, lax, x: np_.flip(x),
    "flip axis": lambda np_, lax, x: np_.flip(x, -1),
    "flipud": lambda np_, lax, x: np_.flipud(x),
    "vstack": lambda np_, lax, x: np_.vstack([x, x[1]]),
    "hstack": lambda np_, lax, x: np_.hstack([x, x[:, :1]]),
    "hstack 1-D": lambda np_, lax, x: np_.hstack([x[0], x[1, 0]]),
    "take_along_axis": lambda np_, lax, x: np_.take_along_axis(x, INDICES, axis=1),
    "take_along_axis 0": lambda np_, lax, x: np_.take_along_axis(x, INDICES[:1], axis=0),
    "take_along_axis None": lambda np_, lax, x: np_.take_along_axis(x, INDICES[0] + 2, axis=None),
    "transpose": lambda np_, lax, x: np_.transpose(x),
    "transpose axes": lambda np_, lax, x: np_.transpose(np_.expand_dims(x, 0), (2, 0, 1)),
    "swapaxes": lambda np_, lax, x: np_.swapaxes(x, 0, -1),
    "moveaxis": lambda np_, lax, x: np_.moveaxis(np_.expand_dims(x, 0), 0, -1),
    "matrix_transpose": lambda np_, lax, x: np_.matrix_transpose(x),
    "method reshape": lambda np_, lax, x: x.reshape(3, 2),
    "method reshape tuple": lambda np_, lax, x: x.reshape((6,)),
    "method T": lambda np_, lax, x: x.T,
    "index slice": lambda np_, lax, x: x[:, 1:3],
    "index int": lambda np_, lax, x: x[1],
    "index ellipsis": lambda np_, lax, x: x[..., 0],
    "index newaxis": lambda np_, lax, x: x[None, :, 2],
    "index array": lambda np_, lax, x: x[INDICES[0, :2]],
    "at set": lambda np_, lax, x: x.at[0, 1].set(np_.flip(x)[1, 2]),
    "at set slice": lambda np_, lax, x: x.at[:, 1:].set(np_.flip(x)[:, :2]),
    "at get fill": lambda np_, lax, x: x.at[1, 5].get(mode="fill"),
    "lax.reshape": lambda np_, lax, x: lax.reshape(x, (3, 2)),
    "lax.transpose": lambda np_, lax, x: lax.transpose(x, (1, 0)),
    "lax.squeeze": lambda np_, lax, x: lax.squeeze(x[:1], (0,)),
    "lax.expand_dims": lambda np_, lax, x: lax.expand_dims(x, (1,)),
    "lax.broadcast_in_dim": lambda np_, lax, x: lax.broadcast_in_dim(x[0], (2, 3), (1,)),
    "lax.broadcast": lambda np_, lax, x: lax.broadcast(x, (2,)),
    "lax.rev": lambda np_, lax, x: lax.rev(x, (1,)),
}


def _run(case, module, transform):
    """case on (module's) keys, through `transform` ("eager", "jit" or "vmap"
    over two arrays of keys), as (the result's dtype name, shape, key data)."""
    fn = lambda x: case(module.numpy, module.lax, x)  # noqa: E731
    x = _keys(module)
    if transform == "jit":
        out = module.jit(fn)(x)
    elif transform == "vmap":
        out = module.vmap(fn)(module.numpy.stack([x, module.numpy.flip(x, 0)]))
    else:
        out = fn(x)
    return str(out.dtype), out.shape, np.asarray(module.random.key_data(out))


@pytest.mark.parametrize("transform", ["eager", "jit", "vmap"])
@pytest.mark.parametrize("name", CASES)
def test_structural_functions_move_whole_keys_as_jax(name, transform):
    ours, theirs = _run(CASES[name], irax, transform), _run(CASES[name], jax, transform)
    assert ours[:2] == theirs[:2]
    np.testing.assert_array_equal(ours[2], theirs[2])


ERRORS = {
    "squeeze a non-unit axis": (lambda np_, lax, x: np_.squeeze(x, axis=0), ValueError),
    "broadcast_to an incompatible shape": (lambda np_, lax, x: np_.broadcast_to(x, (3, 3)), ValueError),
    "reshape to another size": (lambda np_, lax, x: np_.reshape(x, (4,)), TypeError),
    "take_along_axis of the wrong rank": (lambda np_, lax, x: np_.take_along_axis(x, INDICES[0], axis=1),
                                          ValueError),
    "hstack keys and integers": (lambda np_, lax, x: np_.hstack([x, np_.zeros((2, 1), np_.uint32)]), ValueError),
    "at add": (lambda np_, lax, x: x.at[0].add(x[1]), TypeError),
    "at set raw key data": (lambda np_, lax, x: x.at[0, 0].set(np_.zeros(2, np_.uint32)), TypeError),
}


@pytest.mark.parametrize("name", ERRORS)
def test_refusals_match_jax(name):
    case, error = ERRORS[name]
    for module in (irax, jax):
        for transform in ("eager", "jit"):
            with pytest.raises(error):
                _run(case, module, transform)


def test_broadcast_error_names_key_types_as_jax():
    case = ERRORS["broadcast_to an incompatible shape"][0]
    messages = []
    for module in (irax, jax):
        with pytest.raises(ValueError) as info:
            _run(case, module, "eager")
        messages.append(str(info.value))
    assert messages[0] == messages[1]
