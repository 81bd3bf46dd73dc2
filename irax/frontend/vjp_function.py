"""The function `irax.vjp` returns, JAX's "VJP object": call it on the
output's cotangent for the arguments' cotangents,

    y, f_vjp = irax.vjp(f, W, x)
    dW, dx = f_vjp(y_bar)

It is a pytree whose leaves are what its backward pass reads, so a jitted
function may return it or take it (JAX's docs, "First-class VJPs": the
forward and backward passes as two compiled functions), and what it saved
can be looked at and edited before the call:

- `args_res`: the arguments the backward pass needs as they were, arranged
  as the arguments with every node a tuple (a list at the top: one entry
  per argument). irax's backward pass recomputes the forward pass from the
  arguments, so every argument is needed (JAX's `NotNeeded()` never
  appears), and an argument changed there changes the whole backward pass,
  where JAX's opaque residuals keep the forward pass's values;
- `opaque_residuals`: values the forward pass computed for the backward
  pass. irax saves none (MLIR holds no tape), where JAX saves some: a tree
  of irax's has fewer leaves than JAX's.
"""
from collections.abc import Callable

from irax import tree_util
from irax.tree_util import PyTreeDef


class VJP:
    """vjp's function: `f_vjp(cotangent)` is `pullback(arguments, cotangent)`
    with the arguments rebuilt from `args_res` (module docstring)."""

    def __init__(self, pullback: Callable, in_tree: PyTreeDef, out_tree: PyTreeDef, args_res: list,
                 opaque_residuals: list, name: str):
        self.pullback, self.in_tree, self.out_tree, self.name = pullback, in_tree, out_tree, name
        self.args_res, self.opaque_residuals = args_res, opaque_residuals

    @classmethod
    def of(cls, pullback: Callable, arguments: tuple, out_tree: PyTreeDef, name: str) -> "VJP":
        """The VJP function of `pullback(arguments, cotangent)`, which saves
        `arguments` (module docstring)."""
        leaves, in_tree = tree_util.tree_flatten(tuple(arguments))
        return cls(pullback, in_tree, out_tree, list(_as_tuples(in_tree, iter(leaves))), [], name)

    def __call__(self, cotangent, *extra_args):
        if extra_args:
            raise TypeError(_TOO_MANY_ARGUMENTS.format(self.name, len(extra_args) + 1))
        arguments = tree_util.tree_unflatten(self.in_tree, tree_util.tree_leaves(self.args_res))
        return self.pullback(arguments, cotangent)

    def __repr__(self):
        return f"VJP(<the backward pass of {self.name}>, args_res={self.args_res!r})"


def _as_tuples(treedef, leaves):
    """`leaves` arranged as `treedef` with each node a tuple (JAX's args_res)."""
    if treedef.num_nodes == 1 and treedef.num_leaves == 1:  # a leaf
        return next(leaves)
    return tuple(_as_tuples(child, leaves) for child in treedef.children())


_TOO_MANY_ARGUMENTS = """
The function returned by `jax.vjp` applied to {} was called with {} arguments,
but functions returned by `jax.vjp` must be called with a single argument
corresponding to the single value returned by the function being differentiated
(even if that returned value is a tuple or other container).

For example, if we have:

  def f(x):
    return (x, x)
  _, f_vjp = jax.vjp(f, 1.0)

the function `f` returns a single tuple as output, and so we call `f_vjp` with a
single tuple as its argument:

  x_bar, = f_vjp((2.0, 2.0))

If we instead call `f_vjp(2.0, 2.0)`, with the values 'splatted out' as
arguments rather than in a tuple, this error can arise.
"""

tree_util.register_pytree_node(
    VJP, lambda f: ((f.args_res, f.opaque_residuals), (f.pullback, f.in_tree, f.out_tree, f.name)),
    lambda meta, children: VJP(meta[0], meta[1], meta[2], *children, meta[3]))
