"""JAX's own example programs (jax/examples/*.py) run on irax with only the
import changed: each test is one example's key lines, written once against
a library `lib` (irax or jax), run under both and compared, at small shapes
and a few steps. The whole examples run from benchmarks, not here."""
import functools

import numpy as np
import pytest

import irax
import irax.example_libraries.optimizers
import irax.example_libraries.stax
import irax.numpy
import irax.scipy.special
import irax.scipy.stats.norm

jax = pytest.importorskip("jax")
import jax.example_libraries.optimizers  # noqa: E402
import jax.example_libraries.stax  # noqa: E402
import jax.scipy.special  # noqa: E402
import jax.scipy.stats.norm  # noqa: E402

LIBS = {"irax": irax, "jax": jax}
TOL = 2e-5
N, PIXELS, CLASSES = 8, 64, 10  # a batch of 8x8 "images", ten classes
_rng = np.random.RandomState(0)
IMAGES = _rng.rand(N, PIXELS).astype(np.float32)
LABELS = np.eye(CLASSES, dtype=np.float32)[_rng.randint(0, CLASSES, N)]


def both(example):
    """example(lib) under irax and under jax, as NumPy pytrees."""
    out = {name: lib.tree_util.tree_map(np.asarray, example(lib)) for name, lib in LIBS.items()}
    ours, theirs = (jax.tree_util.tree_leaves(out[name]) for name in LIBS)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    return out["irax"]


def _cross_entropy(lib, predict):
    def loss(params, batch):
        inputs, targets = batch
        return -lib.numpy.mean(lib.numpy.sum(predict(params, inputs) * targets, axis=1))
    return loss


def _accuracy(lib, predict, params, batch):
    jnp = lib.numpy
    inputs, targets = batch
    return jnp.mean(jnp.argmax(predict(params, inputs), axis=1) == jnp.argmax(targets, axis=1))


def test_mnist_classifier():
    """stax MLP, momentum, a jitted update with the step count as argument."""
    def example(lib):
        stax, optimizers = lib.example_libraries.stax, lib.example_libraries.optimizers
        init, predict = stax.serial(stax.Dense(32), stax.Relu, stax.Dense(CLASSES), stax.LogSoftmax)
        loss = _cross_entropy(lib, predict)
        opt_init, opt_update, get_params = optimizers.momentum(0.1, mass=0.9)
        update = lib.jit(lambda i, state, batch: opt_update(i, lib.grad(loss)(get_params(state), batch), state))
        _, params = init(lib.random.key(0), (-1, PIXELS))
        state = opt_init(params)
        for i in range(3):
            state = update(i, state, (IMAGES, LABELS))
        params = get_params(state)
        return params, loss(params, (IMAGES, LABELS)), _accuracy(lib, predict, params, (IMAGES, LABELS))
    both(example)


def test_mnist_classifier_fromscratch():
    """float64 NumPy parameters, tanh layers, logsumexp, an update that
    returns a list of tuples."""
    params0 = [(0.1 * _rng.randn(m, n), 0.1 * _rng.randn(n)) for m, n in [(PIXELS, 32), (32, CLASSES)]]

    def example(lib):
        jnp = lib.numpy

        def predict(params, inputs):
            activations = inputs
            for w, b in params[:-1]:
                activations = jnp.tanh(jnp.dot(activations, w) + b)
            final_w, final_b = params[-1]
            logits = jnp.dot(activations, final_w) + final_b
            return logits - lib.scipy.special.logsumexp(logits, axis=1, keepdims=True)
        loss = _cross_entropy(lib, predict)

        @lib.jit
        def update(params, batch):
            grads = lib.grad(loss)(params, batch)
            return [(w - 0.1 * dw, b - 0.1 * db) for (w, b), (dw, db) in zip(params, grads)]
        params = params0
        for _ in range(3):
            params = update(params, (IMAGES, LABELS))
        return params, _accuracy(lib, predict, params, (IMAGES, LABELS))
    both(example)


def test_mnist_vae():
    """A fori_loop epoch of fold_in/split keys, dynamic_slice_in_dim batches,
    bernoulli binarizing, the ELBO's gradient; the evaluation's image grid."""
    batch, latent = 4, 3

    def example(lib):
        jnp, random, lax = lib.numpy, lib.random, lib.lax
        stax, optimizers = lib.example_libraries.stax, lib.example_libraries.optimizers
        variance = stax.serial(stax.Dense(latent), stax.Softplus)
        enc_init, encode = stax.serial(stax.Dense(16), stax.Relu, stax.FanOut(2),
                                       stax.parallel(stax.Dense(latent), variance))
        dec_init, decode = stax.serial(stax.Dense(16), stax.Relu, stax.Dense(PIXELS))

        def elbo(rng, params, images):
            mu, sigmasq = encode(params[0], images)
            z = mu + jnp.sqrt(sigmasq) * random.normal(rng, mu.shape)
            logits = decode(params[1], z)
            logpdf = -jnp.sum(jnp.logaddexp(0., jnp.where(images, -1., 1.) * logits))
            return logpdf + 0.5 * jnp.sum(1. + jnp.log(sigmasq) - mu**2. - sigmasq)

        enc_rng, dec_rng = random.split(random.key(2))
        params = enc_init(enc_rng, (batch, PIXELS))[1], dec_init(dec_rng, (batch, latent))[1]
        opt_init, opt_update, get_params = optimizers.momentum(0.01, mass=0.9)

        @lib.jit
        def run_epoch(rng, state, images):
            def body(i, state):
                elbo_rng, data_rng = random.split(random.fold_in(rng, i))
                x = random.bernoulli(data_rng, lax.dynamic_slice_in_dim(images, (i % 2) * batch, batch))
                g = lib.grad(lambda p: -elbo(elbo_rng, p, x) / batch)(get_params(state))
                return opt_update(i, g, state)
            return lax.fori_loop(0, 2, body, state)

        @lib.jit
        def evaluate(state, images):
            p = get_params(state)
            elbo_rng, data_rng, image_rng = random.split(random.key(1), 3)
            test_elbo = elbo(elbo_rng, p, random.bernoulli(data_rng, images)) / images.shape[0]
            code_rng, img_rng = random.split(image_rng)
            logits = decode(p[1], random.normal(code_rng, (4, latent)))
            sampled = iter(random.bernoulli(img_rng, jnp.logaddexp(0., logits)).reshape((-1, 8, 8)))
            grid = jnp.vstack([jnp.hstack([next(sampled).T for _ in range(2)][::-1]) for _ in range(2)]).T
            return test_elbo, grid

        state = opt_init(params)
        for epoch in range(2):
            state = run_epoch(random.key(epoch), state, lib.device_put(IMAGES))
        return evaluate(state, IMAGES)
    both(example)


def test_differentially_private_sgd():
    """Per-example gradients of a conv net by vmap(grad), clipped by their
    global norm, summed and noised with one key per leaf."""
    def example(lib):
        jnp, random, stax = lib.numpy, lib.random, lib.example_libraries.stax
        tree_flatten, tree_unflatten = lib.tree_util.tree_flatten, lib.tree_util.tree_unflatten
        init, predict = stax.serial(
            stax.Conv(4, (3, 3), padding="SAME", strides=(2, 2)), stax.Relu, stax.MaxPool((2, 2), (1, 1)),
            stax.Conv(4, (2, 2), padding="VALID", strides=(1, 1)), stax.Relu, stax.MaxPool((2, 2), (1, 1)),
            stax.Flatten, stax.Dense(8), stax.Relu, stax.Dense(CLASSES))
        loss = _cross_entropy(lib, lambda p, x: stax.logsoftmax(predict(p, x)))

        def clipped_grad(params, l2_norm_clip, single_example_batch):
            leaves, tree = tree_flatten(lib.grad(loss)(params, single_example_batch))
            total = jnp.linalg.norm(jnp.array([jnp.linalg.norm(g.ravel()) for g in leaves]))
            return tree_unflatten(tree, [g / jnp.maximum(total / l2_norm_clip, 1.) for g in leaves])

        @lib.jit
        def private_grad(params, batch, rng):
            clipped, tree = tree_flatten(lib.vmap(clipped_grad, (None, None, 0))(params, 1.0, batch))
            rngs = random.split(rng, len(clipped))
            noised = [g.sum(0) + 1.1 * random.normal(r, g.shape[1:]) for r, g in zip(rngs, clipped)]
            return tree_unflatten(tree, [g / N for g in noised])

        _, params = init(random.key(0), (-1, 8, 8, 1))
        batch = jnp.reshape(IMAGES, (-1, 1, 8, 8, 1)), LABELS[:, None]
        return private_grad(params, batch, random.fold_in(random.key(0), 3))
    both(example)


def test_advi():
    """A key made from a traced step (random.key(t) under jit), vmap over
    keys and norm.logpdf, the ELBO's gradient; a jit whose static arguments
    are a function and tuples (the contour mesh)."""
    def example(lib):
        jnp, random, norm = lib.numpy, lib.random, lib.scipy.stats.norm

        def log_density(p):
            return norm.logpdf(p[0], 0, jnp.exp(p[1])) + norm.logpdf(p[1], 0, 1.35)

        def elbo(rng, mean, log_std):
            sample = mean + jnp.exp(log_std) * random.normal(rng, mean.shape)
            return log_density(sample) - jnp.sum(lib.vmap(norm.logpdf)(sample, mean, jnp.exp(log_std)))

        @lib.jit
        def objective(params, t):
            rngs = random.split(random.key(t), 5)
            return -jnp.mean(lib.vmap(elbo, in_axes=(0, None, None))(rngs, *params))

        @functools.partial(lib.jit, static_argnums=(0, 1, 2, 4))
        def mesh_eval(func, x_limits, y_limits, params, num_ticks):
            X, Y = jnp.meshgrid(jnp.linspace(*x_limits, num=num_ticks), jnp.linspace(*y_limits, num=num_ticks))
            zs = lib.vmap(func, in_axes=(0, None))(jnp.stack([X.ravel(), Y.ravel()]).T, params)
            return X, Y, zs.reshape(X.shape)

        params = (jnp.zeros(2), jnp.zeros(2))
        for t in range(3):
            # a small step: larger ones reach the funnel's neck, where float32 gradients cancel
            params = lib.tree_util.tree_map(lambda p, g: p - 0.002 * g, params, lib.grad(objective)(params, t))
        target = mesh_eval(lambda x, _: jnp.exp(log_density(x)), (-2, 2), (-4, 2), 1, 5)
        return params, objective(params, 3), target
    both(example)


def test_onnx2xla_pool_then_padded_conv_at_batch_one():
    """onnx2xla's MNIST net at batch 1: a max pool (reduce_window, -inf)
    whose result a SAME convolution pads, jitted and differentiated. IREE
    failed to compile it ("offset 1 is out-of-bounds")."""
    x = _rng.rand(1, 2, 8, 8).astype(np.float32)
    w = _rng.randn(3, 2, 3, 3).astype(np.float32)

    def example(lib):
        jnp, lax = lib.numpy, lib.lax

        def predict(x, w):
            p = lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
            pads = lax.padtype_to_pads(p.shape[2:], w.shape[2:], (1, 1), "SAME")
            y = lax.conv_with_general_padding(p, w, (1, 1), pads, (1, 1), (1, 1))
            return lax.reduce_window(y, 0., lax.add, (1, 1, 3, 3), (1, 1, 1, 1), "SAME")
        return lib.jit(predict)(x, w), lib.grad(lambda x: jnp.sum(lib.jit(predict)(x, w) ** 2))(x)
    both(example)


def test_mnist_vae_epochs_queued_back_to_back():
    """mnist_vae's `opt_state = run_epoch(...)` in a loop, without waiting
    between calls: a fori_loop over big arrays (a queued call, not an inline
    one) called on the results of calls still running. IREE records a host
    loop's work at the call, on memory allocated after the calls before it:
    "transient buffer has not been committed"."""
    def example(lib):
        epoch = lib.jit(lambda s: lib.lax.fori_loop(0, 2, lambda i, s: [p * 0.5 + 1. for p in s], s))
        s = [lib.numpy.ones(1 << 19), lib.numpy.ones(N)]
        for _ in range(8):
            s = epoch(s)
        return s
    both(example)
