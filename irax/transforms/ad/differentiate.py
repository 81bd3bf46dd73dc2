"""The autodiff pass: the derivatives a traced module declares, defined.

grad, vjp and jvp, traced, leave in the module the function they
differentiate (a private @f) and a *declaration* of its derivative, called
where the derivative is needed:

    func.func private @f(%x, %c) -> %y
    func.func private @f_vjp(%x, %c, %ct_y) -> (%y, %ct_x)
        attributes {irax.vjp_of = @f, irax.wrt = array<i64: 0>, irax.seeded = array<i1: true>}
    func.func private @f_jvp(%x, %c, %t_x) -> (%y, %t_y)
        attributes {irax.jvp_of = @f, irax.wrt = array<i64: 0>}

This pass gives each declaration the body the reverse-mode (vjp.py) or
forward-mode (jvp.py) transformation builds from @f, differentiating with
respect to the arguments `wrt`; `seeded[i]` says whether result i takes a
cotangent. A derivative of a function that calls another derivative
(grad(grad(f))) is built after that one, with the calls inlined, so it
differentiates the ops the inner derivative is made of. The module alone
says what to do: its text, parsed in another process, is differentiated
the same way.
"""
from iree.compiler import ir

from irax.ir import kernels, mlir
from irax.transforms.ad import custom, host_calls, remat
from irax.transforms.ad.jvp import build_jvp
from irax.transforms.ad.vjp import active_values, build_vjp, while_activity

VJP_OF = "irax.vjp_of"
JVP_OF = "irax.jvp_of"
WRT = "irax.wrt"
SEEDED = "irax.seeded"


def declare(name, arg_types, result_types, of, wrt, seeded=None):
    """At the insertion point (a module body), declare @name: the VJP of
    function @of (with `seeded`), or its JVP when `seeded` is None."""
    declaration = ir.Operation.create(
        "func.func", regions=1,
        attributes={"sym_name": ir.StringAttr.get(name),
                    "sym_visibility": ir.StringAttr.get("private"),
                    "function_type": ir.TypeAttr.get(ir.FunctionType.get(arg_types, result_types)),
                    JVP_OF if seeded is None else VJP_OF: ir.FlatSymbolRefAttr.get(of),
                    WRT: ir.DenseI64ArrayAttr.get(list(wrt))})
    if seeded is not None:
        declaration.attributes[SEEDED] = ir.DenseBoolArrayAttr.get(list(seeded))
    return declaration


def _ops(op) -> list:
    found = []
    op.walk(lambda o: found.append(o) or ir.WalkResult.ADVANCE)
    return found


def _symbols_used(op) -> set:
    """The names of the symbols that `op` and the ops inside it refer to."""
    return {o.attributes[n].value for o in _ops(op) for n in o.attributes
            if isinstance(o.attributes[n], ir.FlatSymbolRefAttr)}


def _reaches(table, name, targets) -> bool:
    """Whether function @name refers to one of `targets`, directly or through the functions it refers to."""
    seen, stack = set(), [name]
    while stack:
        for used in _symbols_used(table[stack.pop()]) - seen:
            if used not in table:
                continue  # not a function of the module (another kind of symbol)
            if used in targets:
                return True
            seen.add(used)
            stack.append(used)
    return False


_KEPT = (custom.VJP_BWD, custom.JVP, custom.NO_DERIVATIVE, custom.CUSTOM_VMAP, remat.REMAT,
         host_calls.CALLBACK)  # a callback has no body


def _inline_calls(function, table, done=None, tangents=None):
    """Replace the calls in `function` (at any depth) of defined functions
    by their bodies, but those of custom-derivative and checkpointed
    functions: the AD rules differentiate ops, and those calls only. A
    checkpointed function's body, which the rules differentiate, gets the
    same treatment, and so does a custom_jvp rule, which reverse mode
    transposes (vjp._call): a rule calling jvp or grad calls a derivative
    defined before this one. In a rule (`tangents`: the positions of its
    tangent arguments), a kernel call at its top level that no tangent
    reaches stays a call: nothing differentiates it, and the backend runs
    the kernel's own code (det's rule factorizes its matrix again: inlined,
    that LU was a loop of small dispatches, 20x JAX's time at n = 64).
    (`done`: the functions treated, as a rule may call its own function.)"""
    done = set() if done is None else done
    done.add(function.attributes["sym_name"].value)
    while True:
        kept = _untouched_kernel_calls(function, table, tangents) if tangents is not None else set()
        calls = [op for op in _ops(function) if op.name == "func.call"
                 and not any(a in op.attributes for a in _KEPT) and op.results[0] not in kept]
        if not calls:
            for call in _ops(function):
                if call.name != "func.call":
                    continue
                if remat.REMAT in call.attributes and call.attributes["callee"].value not in done:
                    _inline_calls(table[call.attributes["callee"].value], table, done)
                if custom.JVP in call.attributes and call.attributes[custom.JVP].value not in done:
                    rule = table[call.attributes[custom.JVP].value]
                    n = len(rule.type.inputs) - len(call.operands)  # its primal arguments, then as many tangents
                    _inline_calls(rule, table, done, tangents=range(n, 2 * n))
            return
        for call in calls:
            with ir.InsertionPoint(call):
                results = mlir.inline_function(table[call.attributes["callee"].value], list(call.operands))
            for old, new in zip(call.results, results):
                old.replace_all_uses_with(new)
            call.erase()


def _untouched_kernel_calls(function, table, tangents) -> set:
    """The first results of the kernel calls at `function`'s top level that
    read nothing computed from its arguments at positions `tangents`."""
    block = function.regions[0].blocks[0]
    reached, kept = {block.arguments[i] for i in tangents}, set()
    for op in block.operations:
        used = list(op.operands) + (mlir.captured(op) if len(op.regions) else [])
        if any(v in reached for v in used):
            reached.update(op.results)
        elif (op.name == "func.call" and len(op.results)
              and kernels.kernel_of(table[op.attributes["callee"].value]) is not None):
            kept.add(op.results[0])
    return kept


def declarations(module_op) -> dict:
    """The derivatives `module_op` declares and no pass has defined yet, by name."""
    return {op.attributes["sym_name"].value: op for op in module_op.regions[0].blocks[0].operations
            if VJP_OF in op.attributes or JVP_OF in op.attributes}


def differentiate(module_op):
    """Define every derivative `module_op` declares, innermost first."""
    pending = declarations(module_op)
    with ir.Location.unknown():
        while pending:
            table = ir.SymbolTable(module_op)
            name, declaration = next((n, d) for n, d in pending.items()
                                     if not _reaches(table, _primal_name(d), pending.keys()))
            del pending[name]
            primal = table[_primal_name(declaration)]
            wrt = list(declaration.attributes[WRT])
            inline_and_check_callbacks(primal, wrt, table)
            seeded = list(declaration.attributes[SEEDED]) if SEEDED in declaration.attributes else None
            declaration.erase()
            if seeded is None:
                build_jvp(primal, wrt, name=name)
            else:
                build_vjp(primal, wrt, seeded, name=name)


def inline_and_check_callbacks(function, wrt, table=None):
    """Inline the calls in `function` (`_inline_calls`; `table`: its
    module's symbol table), then raise JAX's error if a pure or io callback
    in it reads its arguments `wrt` (`_check_callbacks`). Before its pass,
    grad checks so where its output is not a scalar: JAX differentiates
    first, so the callback's error comes before grad's own."""
    _inline_calls(function, table or ir.SymbolTable(function.operation.parent))
    if any(host_calls.has_no_derivative(op) for op in _ops(function)):
        block = function.regions[0].blocks[0]
        _check_callbacks(list(block.operations), {block.arguments[i] for i in wrt})


def _check_callbacks(ops, seeds):
    """JAX's error where a pure or io callback among `ops` (at any depth)
    reads a value that depends on `seeds`, its results used or not: JAX
    differentiates forward first, and a callback has no derivative."""
    active = active_values(ops, seeds)
    for op in ops:
        if host_calls.has_no_derivative(op.operation) and any(v in active for v in op.operands):
            raise host_calls.not_differentiable(op)
        for block, flags in _blocks(op.operation, active):
            _check_callbacks(list(block.operations), active | {a for a, f in zip(block.arguments, flags) if f})


def _blocks(op, active) -> list:
    """(block, which of its arguments depend on `active`) for each block of
    a control-flow op, whose results in `active` are those at the loops'
    fixed points (vjp._for_results, while_activity): a loop's carry depends
    on the seeds exactly where its result does."""
    if op.name == "scf.for":
        return [(op.regions[0].blocks[0], [False] + [r in active for r in op.results])]
    if op.name == "scf.while":
        carried, forwarded = while_activity(op, active)
        return [(op.regions[0].blocks[0], carried), (op.regions[1].blocks[0], forwarded)]
    if op.name == "scf.if":
        return [(region.blocks[0], []) for region in op.regions if len(region.blocks)]
    return []


def _primal_name(declaration) -> str:
    attributes = declaration.attributes
    return attributes[VJP_OF if VJP_OF in attributes else JVP_OF].value
