"""`saved_residuals` and `print_saved_residuals`, as jax.ad_checkpoint's:
the values reverse-mode differentiation of `f` keeps from the forward pass
for the backward pass, one line each:

    >>> print_saved_residuals(f, W1, x)
    f32[5,4] from the argument W1
    f32[5] output of dot_general from model.py:5:6 (g)
    f32[5] named 'a' from model.py:9:6 (f)

They are irax's own: `f`'s VJP is traced and built by the autodiff pass as
for `irax.vjp(f, *args)`, with respect to every leaf of the arguments, and
transforms/ad/residuals.py reads which forward values its backward part
reads, after the checkpoint policies have chosen what to keep. Where irax's
rules need other values than JAX's, the lines differ: the derivative of
sin(y) is computed from y in the backward pass (its rule is the body's own
derivative, cos(y), evaluated there), so irax keeps y where JAX keeps
cos(y). A value is named by the argument it is (with JAX's key paths,
`params[0]`), as a constant (an array `f` closes over), by its
checkpoint_name, or by the primitive that made it and the user's source
line (recorded while tracing: source_info.py). A checkpointed call's
output is named by what made it inside the call.
"""
import inspect

from iree.compiler import ir

from irax import tree_util
from irax.frontend import autodiff, core, source_info, staging
from irax.ir import mlir
from irax.transforms.ad import differentiate, remat, residuals


def _argument_names(f, args, kwargs) -> list[str]:
    """A name for each leaf of (args, kwargs), as JAX's debug info names
    them: the parameter the leaf is passed as, with its key path
    (`params[0]`, `batch['x']`); keyword arguments after the positional
    ones, sorted; `args[1]` where `f`'s signature does not bind them."""
    try:
        bound = inspect.signature(f).bind(*args, **kwargs)
    except (TypeError, ValueError):
        ordered = [("args", args)] + sorted((f"kwargs['{k}']", v) for k, v in kwargs.items())
    else:
        var_keyword = next((n for n, p in inspect.signature(f).parameters.items()
                            if p.kind is inspect.Parameter.VAR_KEYWORD), None)
        positional = [(n, v) for n, v in bound.arguments.items() if n not in kwargs and n != var_keyword]
        keyword = [(k if k in bound.arguments else f"{var_keyword}['{k}']", v) for k, v in sorted(kwargs.items())]
        ordered = positional + keyword
    return [name + "".join(_key_text(k) for k in path)
            for name, value in ordered for path, _ in tree_util.tree_flatten_with_path(value)[0]]


def _key_text(key) -> str:
    """A key as JAX writes it in an argument's name: a node flattened
    without keys has its child's index, `[1]` (not `[<flat index 1>]`)."""
    return f"[{key.key}]" if isinstance(key, tree_util.FlattenedIndexKey) else str(key)


def _aval(value) -> core.ShapedArray:
    with value.type.context:  # aval_parts makes types, which needs a current context
        return core.ShapedArray(*mlir.aval_parts(ir.RankedTensorType(value.type)))


def _short(aval) -> str:
    """`f32[5,4]`: JAX's aval.str_short(short_dtypes=True)."""
    name = aval.dtype.name.replace("float", "f").replace("uint", "u").replace("int", "i").replace("complex", "c")
    return f"{name}[{','.join(map(str, aval.shape))}]"


class _Namer:
    """Says where each residual of a VJP function comes from."""

    def __init__(self, table, function, names):
        self.table, self.names = table, names
        self.arguments = list(function.regions[0].blocks[0].arguments)

    def __call__(self, value) -> str:
        if value in self.arguments:
            i = self.arguments.index(value)
            if i >= len(self.names):
                return "from a constant"  # an array f closes over, an argument of the traced function
            return f"from the argument {self.names[i]}" if self.names[i] else f"from the argument at flattened index {i}"
        return self._output(value)

    def _output(self, value) -> str:
        op = value.owner
        if op.name == "func.call":  # a checkpointed (or custom-derivative) function: what made it in there
            return self._output_of_call(op, ir.OpResult(value).result_number)
        if remat.CHECKPOINT_NAME in op.attributes:
            name = ir.StringAttr(op.attributes[remat.CHECKPOINT_NAME]).value
            return f"named '{name}' from {self._line(op)}"
        described = source_info.describe(op.location)
        primitive = described[0] if described else op.name
        return f"output of {primitive} from {self._line(op)}"

    def _output_of_call(self, call, k) -> str:
        callee = self.table[ir.FlatSymbolRefAttr(call.attributes["callee"]).value]
        if not len(callee.regions[0].blocks):  # a host callback's declaration: the call made it
            return f"output of {call.name} from {self._line(call)}"
        block = callee.regions[0].blocks[0]
        inner = block.operations[len(block.operations) - 1].operands[k]
        if isinstance(inner.owner, ir.Block):  # it returns an argument: the call's operand
            return self(call.operands[list(block.arguments).index(inner)])
        return self._output(inner)

    @staticmethod
    def _line(op) -> str:
        described = source_info.describe(op.location)
        return described[1] if described else "unknown"


def saved_residuals(f, *args, **kwargs) -> list[tuple[core.ShapedArray, str]]:
    """(aval, where it comes from) of each value irax's reverse pass of
    `f(*args, **kwargs)` keeps from the forward pass (module docstring)."""
    arguments = staging.Arguments(args, kwargs)
    all_names = _argument_names(f, args, kwargs)
    names = [n for n, dynamic in zip(all_names, arguments.is_dynamic) if dynamic]

    def flat(*leaves):  # as JAX: f of the flat leaves, every one differentiated
        a, k = arguments.rebuild(leaves)
        return f(*a, **k), None

    trace = core.Trace()
    with source_info.recording(), trace.active():
        leaves = [trace.new_argument(x.aval) for x in arguments.dynamic]
        cotangents = lambda out_tree, out_avals: [trace.new_argument(a) for a in out_avals]
        autodiff._vjp_inline(flat, staging.Arguments(leaves), range(len(leaves)), cotangents)
    trace.finish([])
    with trace.context:
        name, primal = _declared_here(trace)
        n_args = len(primal.regions[0].blocks[0].arguments)
        residuals.mark_boundary(primal)
        differentiate.differentiate(trace.module.operation)
        table = ir.SymbolTable(trace.module.operation)
        function = table[name]
        namer = _Namer(table, function, names)
        found = [(v, namer(v)) for v in residuals.residuals(function, n_args)]
    given = namer.arguments[:len(names)]  # the arguments' own avals: weak types, unsigned integers

    def aval(v):
        return arguments.dynamic[given.index(v)].aval if v in given else _aval(v)

    # JAX's order: constants, then arguments and op outputs in program order
    constant = [pair[1] == "from a constant" for pair in found]
    in_order = [p for p, c in zip(found, constant) if c] + [p for p, c in zip(found, constant) if not c]
    return [(aval(v), src) for v, src in in_order]


def _declared_here(trace):
    """(name, primal function) of the VJP that `trace`'s own function calls
    (those of grads inside `f` are called from `f`'s functions)."""
    declared = differentiate.declarations(trace.module.operation)
    table = ir.SymbolTable(trace.module.operation)
    for op in trace.block.operations:
        if op.operation.name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.operation.attributes["callee"]).value
            if callee in declared:
                return callee, table[ir.FlatSymbolRefAttr(declared[callee].attributes[differentiate.VJP_OF]).value]
    raise AssertionError("no VJP was declared")


def print_saved_residuals(f, *args, **kwargs) -> None:
    """Print a line for each value `saved_residuals` lists: its type and where it comes from."""
    for aval, src in saved_residuals(f, *args, **kwargs):
        print(f"{_short(aval)} {src}")


__all__ = ["print_saved_residuals", "saved_residuals"]
