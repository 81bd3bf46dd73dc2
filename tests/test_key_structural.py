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
    "dstack": lambda np_, lax, x: np_.dstack([x, np_.flip(x)]),
    "dstack 1-D": lambda np_, lax, x: np_.dstack([x[0], x[1]]),
    "column_stack": lambda np_, lax, x: np_.column_stack([x, x[:, 0]]),
    "rot90": lambda np_, lax, x: np_.rot90(x),
    "rot90 k axes": lambda np_, lax, x: np_.rot90(x, -2, (1, 0)),
    "roll": lambda np_, lax, x: np_.roll(x, 1),
    "roll axes": lambda np_, lax, x: np_.roll(x, (1, -1), (0, 1)),
    "roll array shift": lambda np_, lax, x: np_.roll(x, np.array(2), 1),
    "rollaxis": lambda np_, lax, x: np_.rollaxis(x, 1),
    "tile": lambda np_, lax, x: np_.tile(x, (2, 1)),
    "tile new axis": lambda np_, lax, x: np_.tile(x[0], (2, 2)),
    "repeat": lambda np_, lax, x: np_.repeat(x, 2, axis=1),
    "repeat flat": lambda np_, lax, x: np_.repeat(x, 2),
    "repeat counts": lambda np_, lax, x: np_.repeat(x, np.array([1, 2]), axis=0),
    "repeat total_repeat_length": lambda np_, lax, x: np_.repeat(x, np.array([2, 0, 1]), axis=1,
                                                               total_repeat_length=4),
    "split": lambda np_, lax, x: np_.hstack(np_.split(x, [1], axis=1)[::-1]),
    "array_split": lambda np_, lax, x: np_.hstack(np_.array_split(x, 2, axis=1)[::-1]),
    "vsplit": lambda np_, lax, x: np_.vstack(np_.vsplit(x, 2)[::-1]),
    "unstack": lambda np_, lax, x: np_.stack(np_.unstack(x, axis=1)),
    "lax.slice": lambda np_, lax, x: lax.slice(x, (0, 1), (2, 3)),
    "lax.slice strides": lambda np_, lax, x: lax.slice(x, (0, 0), (2, 3), (1, 2)),
    "lax.slice_in_dim": lambda np_, lax, x: lax.slice_in_dim(x, -2, None, axis=1),
    "lax.index_in_dim": lambda np_, lax, x: lax.index_in_dim(x, -1, axis=1, keepdims=False),
    "lax.dynamic_slice": lambda np_, lax, x: lax.dynamic_slice(x, (1, 2), (1, 2)),
    "lax.dynamic_index_in_dim": lambda np_, lax, x: lax.dynamic_index_in_dim(x, 1, axis=1),
    "lax.dynamic_update_slice": lambda np_, lax, x: lax.dynamic_update_slice(x, np_.flip(x)[:1, :2], (1, 2)),
    "lax.dynamic_update_index_in_dim": lambda np_, lax, x: lax.dynamic_update_index_in_dim(x, x[1], 0, 0),
    "lax.split": lambda np_, lax, x: np_.hstack(lax.split(x, (2, 1), axis=1)[::-1]),
    "lax.tile": lambda np_, lax, x: lax.tile(x, (1, 2)),
    "lax.collapse": lambda np_, lax, x: lax.collapse(x, 0),
    "delete": lambda np_, lax, x: np_.delete(x, 0, axis=1),
    "delete flat": lambda np_, lax, x: np_.delete(x, np.array([1, 4])),
    "insert": lambda np_, lax, x: np_.insert(x, 1, np_.flip(x)[:, 0], axis=1),
    "insert flat": lambda np_, lax, x: np_.insert(x, 2, x[1, 1]),
    "resize": lambda np_, lax, x: np_.resize(x, (4, 2)),
    "pad edge": lambda np_, lax, x: np_.pad(x, ((1, 0), (0, 2)), mode="edge"),
    "pad reflect": lambda np_, lax, x: np_.pad(x, 1, mode="reflect"),
    "pad wrap": lambda np_, lax, x: np_.pad(x, (0, 1), mode="wrap"),
}


def _described(out, module):
    """A result of keys as (its dtype name, shape, key data)."""
    return str(out.dtype), out.shape, np.asarray(module.random.key_data(out))


def _run(case, module, transform):
    """case on (module's) keys, through `transform` ("eager", "jit" or "vmap"
    over two arrays of keys), `_described`."""
    return _described(_transformed(lambda x: case(module.numpy, module.lax, x), module, transform), module)


def _transformed(fn, module, transform):
    """fn of module's keys, through `transform`."""
    x = _keys(module)
    if transform == "jit":
        return module.jit(fn)(x)
    if transform == "vmap":
        return module.vmap(fn)(module.numpy.stack([x, module.numpy.flip(x, 0)]))
    return fn(x)


def _assert_same(ours, theirs, name):
    assert ours[:2] == theirs[:2], name
    np.testing.assert_array_equal(ours[2], theirs[2], err_msg=name)


@pytest.mark.parametrize("name", CASES)
def test_structural_functions_move_whole_keys_as_jax(name):
    _assert_same(_run(CASES[name], irax, "eager"), _run(CASES[name], jax, "eager"), name)


@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_structural_functions_move_whole_keys_under_transforms_as_jax(transform):
    """Every case in one traced function (one program, not one per case),
    each result compared as the eager test compares it."""
    def all_cases(module):
        return _transformed(lambda x: {name: case(module.numpy, module.lax, x) for name, case in CASES.items()},
                            module, transform)
    ours, theirs = all_cases(irax), all_cases(jax)
    for name in CASES:
        _assert_same(_described(ours[name], irax), _described(theirs[name], jax), f"{name} ({transform})")


ERRORS = {
    "squeeze a non-unit axis": (lambda np_, lax, x: np_.squeeze(x, axis=0), ValueError),
    "broadcast_to an incompatible shape": (lambda np_, lax, x: np_.broadcast_to(x, (3, 3)), ValueError),
    "reshape to another size": (lambda np_, lax, x: np_.reshape(x, (4,)), TypeError),
    "take_along_axis of the wrong rank": (lambda np_, lax, x: np_.take_along_axis(x, INDICES[0], axis=1),
                                          ValueError),
    "hstack keys and integers": (lambda np_, lax, x: np_.hstack([x, np_.zeros((2, 1), np_.uint32)]), ValueError),
    "at add": (lambda np_, lax, x: x.at[0].add(x[1]), TypeError),
    "at set raw key data": (lambda np_, lax, x: x.at[0, 0].set(np_.zeros(2, np_.uint32)), TypeError),
    "split unequally": (lambda np_, lax, x: np_.split(x, 2, axis=1), ValueError),
    "dstack keys and integers": (lambda np_, lax, x: np_.dstack([x, np_.zeros((2, 3), np_.uint32)]), ValueError),
    "insert integers": (lambda np_, lax, x: np_.insert(x, 1, 5), ValueError),
    "pad with a constant": (lambda np_, lax, x: np_.pad(x, 1), ValueError),
    "pad with a statistic": (lambda np_, lax, x: np_.pad(x, 1, mode="maximum"), TypeError),
    "lax.dynamic_update_slice of another rank": (lambda np_, lax, x: lax.dynamic_update_slice(x, x[0], (0, 0)),
                                                 TypeError),
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


def test_key_mT_is_abstract_as_in_jax():
    """JAX's key arrays leave `mT` abstract (its jit tracers of keys transpose;
    irax refuses there too)."""
    for module in (irax, jax):
        with pytest.raises(NotImplementedError, match="Cannot call abstract method mT"):
            _keys(module).mT  # noqa: B018
