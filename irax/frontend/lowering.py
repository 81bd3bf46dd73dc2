"""Ahead of time: a function lowered for some arguments, stage by stage, and compiled.

    traced = irax.jit(f).trace(x)         # traced.jaxpr: the module as traced (make_jaxpr's)
    lowered = irax.jit(f).lower(x)        # or irax.grad(f).lower(x), or traced.lower()
    print(lowered.as_text("optimized"))   # the MLIR at one stage (below)
    compiled = lowered.compile()          # an IREE program (compile(backend="vulkan"): another target)
    compiled(x)                           # the same values as irax.jit(f)(x)
    compiled.vmfb, compiled.as_text("hal"), compiled.compile_command_line()

The stages, in the order a program goes through them:

    traced                the whole program as traced (the default), with
                          the derivatives grad, vjp and jvp declared
    after_ad              after the `differentiate` pass has defined them
    optimized             after irax's pass pipeline: what IREE compiles
                          (`lowered.passes` has the module after each pass)
    input, flow, stream, hal, vm
                          what IREE's compiler has made of it at the end of
                          that phase (iree-compile --compile-to=PHASE)
    all                   all of them, with the module after each irax pass

The command line shows the same stages: `irax ir FILE.py:FUNC --stage NAME`.
"""
from irax.backends import compiler
from irax.frontend import staging
from irax.frontend.array import check_not_deleted, place
from irax.frontend import executable
from irax.plugins import registry
from irax.transforms import pipeline
from irax.transforms.ad.differentiate import declarations

IRAX_STAGES = ("traced", "after_ad", "optimized")
IREE_STAGES = ("input", "flow", "stream", "hal", "vm")
STAGES = IRAX_STAGES + IREE_STAGES + ("all",)

def lower(fn, args, kwargs=None, passes=None, donate_argnums=(), device=None):
    """Trace `fn(*args, **kwargs)` and run the pass pipeline as
    staging.run_staged would, keeping the module at every stage. `device`
    (jit's) is where the compiled program runs, and its backend the default
    target."""
    arguments = staging.Arguments(args, kwargs)
    traced = staging.trace_arguments(fn, arguments)
    snapshots = [("traced", str(traced.module))]
    with_locations = {"traced": _with_locations(traced.module)}
    differentiated = bool(declarations(traced.module.operation))
    after_passes = []

    def after_pass(name, op):
        after_passes.append((name, str(op)))
        if name == "differentiate" and differentiated:
            snapshots.append(("after_ad", after_passes[-1][1]))

    donated = [k for i in donate_argnums for k in arguments.dynamic_indices(i)]
    pipeline.run(traced.module, passes, donated=donated, after_pass=after_pass)
    snapshots.append(("optimized", str(traced.module)))
    with_locations["optimized"] = _with_locations(traced.module)
    lowered = Lowered(getattr(fn, "__name__", "function"), snapshots, after_passes, arguments.signature(),
                      traced, tuple(donated), device)
    lowered.with_locations = with_locations
    return lowered


def _with_locations(module) -> str:
    """The module's text with its ops' locations (irax.named_scope's names)."""
    return module.operation.get_asm(enable_debug_info=True)


def resolve_backend(backend):
    """The backend object for `backend`: None is the default one; a name may
    be any registered backend, even one with no device here (compiling needs none)."""
    if backend is None:
        return registry.get_backend()
    if not isinstance(backend, str):
        return backend
    try:
        return registry.get_backend(backend)
    except RuntimeError:
        found = registry.backends().get(backend)
    if found is None:
        raise ValueError(f"unknown backend {backend!r}; registered backends: {', '.join(sorted(registry.backends()))}")
    if isinstance(found, registry.PluginLoadError):
        raise ValueError(f"backend {backend!r} failed to load ({found.origin}): {found.error}")
    return found


class Traced:
    """A function traced for some arguments, not yet lowered: JAX's
    `jit(f).trace(x)`, the stage before `lower`. `jaxpr` is the program as
    make_jaxpr gives it (irax's MLIR module, where JAX has a jaxpr),
    `out_info` the outputs' shapes and dtypes (a pytree of
    ShapeDtypeStruct), `lower()` the Lowered of the same arguments."""

    def __init__(self, fun_name, jaxpr, out_info, lower):
        self.fun_name, self.jaxpr, self.out_info = fun_name, jaxpr, out_info
        self._lower = lower

    def lower(self):
        return self._lower()


class Lowered:
    """A function as irax lowered it for some arguments (see the module docstring)."""

    def __init__(self, name, snapshots, passes, signature, traced, donated, device=None):
        self.name = name
        self.device = device
        self._snapshots = snapshots  # [(stage, text)] in the order they were made
        self.passes = passes  # [(pass name, text after it)]
        self.signature = signature
        self.traced = traced
        self.donated = donated
        self._iree_texts = {}  # (backend name, its flags, IREE stage) -> text
        self.with_locations = {}  # stage -> text with the ops' locations (as_text's debug_info)

    def as_text(self, stage="traced", backend=None, *, debug_info=False):
        """The module at `stage`; the IREE stages are compiled for `backend`
        (a name or backend object; default: the device's, else the default one).
        `debug_info` (as JAX's): with the ops' locations, which hold the names
        of irax.named_scope (stages traced and optimized)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        if debug_info and stage in self.with_locations:
            return self.with_locations[stage]
        if stage == "all":
            return "".join(f"// ----- {name} -----\n{text}\n" for name, text in self.snapshots(backend))
        if stage in IREE_STAGES:
            return self._iree_text(stage, self._backend(backend))
        texts = [text for s, text in self._snapshots if s == stage]
        if not texts:
            return f"// no {stage} stage: nothing was differentiated\n"
        return "\n".join(texts)

    def snapshots(self, backend=None, iree=True):
        """[(name, text)]: the module as traced, after each irax pass (the
        first, differentiate, makes after_ad), then the IREE stages (for
        `backend`) if `iree`."""
        iree_stages = [(s, self.as_text(s, backend)) for s in IREE_STAGES] if iree else []
        return [("traced", self.as_text("traced"))] + self.passes + iree_stages

    def compile(self, backend=None):
        """This program compiled by IREE for `backend` (default: the device's, else the default one)."""
        return Compiled(self, self._backend(backend))

    def _iree_text(self, stage, backend):
        """IREE's phases are compiled one from the other, up to `stage`, and kept."""
        flags = tuple(backend.compile_flags)  # they follow settings (the cuda target): part of the key
        if (backend.name, flags, stage) not in self._iree_texts:
            phases = IREE_STAGES[:IREE_STAGES.index(stage) + 1]
            texts = compiler.compile_to_phases(self.iree_input(backend), backend.target_backend, flags, phases)
            self._iree_texts.update({(backend.name, flags, p): t for p, t in zip(phases, texts)})
        return self._iree_texts[backend.name, flags, stage]

    def iree_input(self, backend=None) -> str:
        """The module IREE compiles for `backend`: the optimized one, with the
        choices a backend makes on it (`backend.prepare`, where it has one;
        the CPU's matmul and convolution tiles, backends/cpu_tiles.py)."""
        backend = self._backend(backend)
        prepare = getattr(backend, "prepare", None)
        return prepare(self.as_text("optimized")) if prepare else self.as_text("optimized")

    def _backend(self, backend):
        if backend is None and self.device is not None:
            return self.device.backend
        return resolve_backend(backend)

    def __str__(self):
        return self.as_text()


class Compiled:
    """A lowered function compiled for one backend. Calling it takes the
    arguments `lower` took (less jit's static ones) and runs the program;
    `vmfb` is the program, `as_text(phase)` IREE's IR on the way to it."""

    def __init__(self, lowered, backend):
        self.lowered = lowered
        self.backend = backend
        self.vmfb = backend.compile(lowered.as_text("optimized"))
        self._programs = {}  # device -> executable.Executable, loaded on first call

    def __call__(self, *args, **kwargs):
        arguments = staging.Arguments(args, kwargs)
        if arguments.signature() != self.lowered.signature:
            raise TypeError(f"{self.lowered.name} was compiled for arguments {_describe(self.lowered.signature)} "
                            f"but called with {_describe(arguments.signature())}; lower and compile it for these.")
        check_not_deleted(arguments.dynamic)
        device = self._device(arguments.dynamic)
        return executable.execute(self.lowered.name, arguments.dynamic, self._load, device, self.lowered.donated)

    def _device(self, arrays):
        """Where a call runs: where jit's device, or else `arrays`, say (None:
        array.place decides), if that device is of this backend; else this
        backend's first device."""
        device = self.lowered.device
        if (device if device is not None else place(self.lowered.name, arrays)[0]).backend is self.backend:
            return device
        if not self.backend.available():
            raise RuntimeError(f"{self.lowered.name} was compiled for backend {self.backend.name!r}, which has "
                               "no device here; run its .vmfb where it has one (irax run FILE.vmfb)")
        return self.backend.devices()[0]

    def _load(self, device, flat):
        """The program loaded on `device`, once per device."""
        loaded = self._programs.get(device)
        if loaded is None:
            traced = self.lowered.traced
            lifted = place(self.lowered.name, traced.lifted, device)[1]
            program = executable.load(device, self.vmfb, traced.trace.host_functions, traced.module)
            loaded = self._programs[device] = executable.Executable(program, traced.out_avals, lifted, traced.out_tree)
        return loaded

    def as_text(self, stage="vm"):
        """IREE's IR at the end of compiler phase `stage` (one of IREE_STAGES)."""
        if stage not in IREE_STAGES:
            raise ValueError(f"unknown IREE stage {stage!r}; IREE stages are {', '.join(IREE_STAGES)}")
        return self.lowered.as_text(stage, self.backend)

    def compile_command_line(self):
        """The iree-compile command (less the input file and `-o`) that makes
        `vmfb` from `lowered.iree_input(backend)` saved as compiler.SOURCE_NAME."""
        return compiler.compile_command_line(self.backend.target_backend, self.backend.compile_flags)


def _describe(signature):
    tree, _, _, avals = signature
    return f"{tree} ({', '.join(a.str_short() for a in avals)})"
