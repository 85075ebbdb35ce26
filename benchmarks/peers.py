"""One training step of each benchmarked work, in tinyae and in every peer: PyTorch (eager),
JAX (the whole step — loss, gradient, Adam — one ``jax.jit``-compiled function) and, for the
per-op work only, HIPS autograd (a pure-Python engine over NumPy, like tinyae).

    make_step(framework, work, batches) -> (step, sync)

``step(i)`` runs one step on ``batches[i % len(batches)]``; ``sync()`` waits for queued work
(JAX dispatches asynchronously). The works:

    shallow, deep, conv, vae   the models of benchmarks/models.py, batch 128 of MNIST, Adam 1e-3;
                               MSE against the input (vae: its own loss, BCE sum + KL)
    block16, block49           one pre-norm transformer block of the masked AE (dim 64, 4 heads,
                               MLP 256, GELU tanh) on (64, T, 64) tokens, T = 16 (the encoder's
                               kept patches) or 49 (the decoder's); loss mean(y²), Adam 1e-3
    cnn                        the MNIST CNN of PyTorch's examples (mnist/main.py: two 3×3 convs,
                               max-pool, dropout, two Linears, log-softmax, NLL, Adadelta lr 1),
                               batch 64 of MNIST images, as benchmarks/cnn_step.py builds it
    perop                      a chain of 101 small elementwise ops on 16×16 (mul, add, sigmoid,
                               sub; sum), forward + backward, no optimizer: the per-op overhead.
                               Not for JAX: compiled, the chain is one fused kernel, and eager
                               JAX measures its dispatcher, neither comparable.
"""
import numpy as np

from benchmarks.models import build_tinyae, build_torch, _widths

WORKS = ("shallow", "deep", "conv", "vae", "cnn", "block16", "block49", "perop")
CHAIN_LINKS = 25  # × 4 ops, + the sum: 101 ops
DIM, HEADS, MLP = 64, 4, 256


def inputs_for(work, images, rng, count=8):
    """``count`` input batches for ``work`` (float32 arrays): MNIST rows or images, or tokens."""
    if work.startswith("block"):
        return [rng.standard_normal((64, int(work[5:]), DIM)).astype(np.float32) for _ in range(count)]
    if work == "perop":
        return [rng.standard_normal((16, 16)).astype(np.float32) for _ in range(count)]
    if work == "cnn":  # (images, labels): the labels are drawn, which does not change the cost
        return [(images[rng.integers(0, len(images), 64)], rng.integers(0, 10, 64))
                for _ in range(count)]
    return [images[rng.integers(0, len(images), 128)] for _ in range(count)]


def make_step(framework, work, batches):
    return {"tinyae": _tinyae, "torch": _torch, "jax": _jax,
            "autograd": _autograd}[framework](work, batches)


def _cnn(lib, batches):
    """The examples' CNN in ``lib`` (tinyae or torch), both from tinyae's initial weights."""
    from benchmarks.cnn_step import _initial_weights, training_step
    return training_step(lib, _initial_weights(), batches), _nothing


def _chain(x, c):
    """The per-op work: CHAIN_LINKS links of h ← σ(h·c + c) − h, summed; the same ops (and
    method names) in tinyae and PyTorch."""
    h = x
    for _ in range(CHAIN_LINKS):
        h = (h * c + c).sigmoid() - h
    return h.sum()


# --- tinyae -------------------------------------------------------------------------------------
def _tinyae(work, batches):
    import tinyae
    from tinyae import losses, nn, optim
    if work == "cnn":
        return _cnn(tinyae, batches)
    xs = [tinyae.Tensor(b) for b in batches]
    if work == "perop":
        x = tinyae.Tensor(batches[0], requires_grad=True)

        def step(i):
            _chain(x, xs[i % len(xs)]).backward()
        return step, _nothing
    if work.startswith("block"):
        model = nn.TransformerBlock(DIM, HEADS, mlp_ratio=MLP / DIM, rng=0)
        loss_of = lambda x: (model(x) ** 2).mean()  # noqa: E731
    else:
        model = build_tinyae(work)
        loss_of = model.loss if work == "vae" else (lambda x: losses.mse(model(x), x))
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(i):
        opt.zero_grad()
        loss_of(xs[i % len(xs)]).backward()
        opt.step()
    return step, _nothing


def _nothing():
    pass


# --- PyTorch ------------------------------------------------------------------------------------
def _torch(work, batches):
    import torch
    if work == "cnn":
        return _cnn(torch, batches)
    xs = [torch.as_tensor(b) for b in batches]
    if work == "perop":
        x = torch.tensor(batches[0], requires_grad=True)

        def step(i):
            _chain(x, xs[i % len(xs)]).backward()
        return step, _nothing
    torch.manual_seed(0)
    if work.startswith("block"):
        model = _torch_block(torch)
        loss_of = lambda x: (model(x) ** 2).mean()  # noqa: E731
    else:
        model = build_torch(work)
        mse = torch.nn.functional.mse_loss
        loss_of = model.loss if work == "vae" else (lambda x: mse(model(x), x))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss_of(xs[i % len(xs)]).backward()
        opt.step()
    return step, _nothing


def _torch_block(torch):
    """The block of benchmarks/mae_step.py (pre-norm, q/k/v Linears, SDPA, GELU tanh MLP)."""
    from torch import nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
            self.q, self.k, self.v, self.proj = (nn.Linear(DIM, DIM) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(DIM, MLP), nn.Linear(MLP, DIM)

        def forward(self, x):
            n, t, d = x.shape
            h = self.norm1(x)
            q, k, v = (f(h).view(n, t, HEADS, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, d)
            x = x + self.proj(a)
            return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))
    return Block()


# --- HIPS autograd (per-op only) ---------------------------------------------------------------
def _autograd(work, batches):
    """The per-op chain with autograd's primitives: multiply, add, the logistic sigmoid (one
    primitive with its vjp, as autograd's users define one, like tinyae's Sigmoid), subtract,
    sum: the same 101 ops."""
    if work != "perop":
        raise NotImplementedError("HIPS autograd: per-op overhead only (no layers or Adam)")
    from autograd import grad
    import autograd.numpy as anp
    from autograd.extend import defvjp, primitive

    expit = primitive(lambda z: 1 / (1 + np.exp(-z)))
    defvjp(expit, lambda ans, z: lambda g: g * ans * (1 - ans))

    def chain(x, c):
        h = x
        for _ in range(CHAIN_LINKS):
            h = expit(h * c + c) - h
        return anp.sum(h)

    gradient = grad(chain)  # forward + backward, as tinyae's and PyTorch's .backward()
    xs = [b.astype(np.float32) for b in batches]

    def step(i):
        gradient(xs[0], xs[i % len(xs)])
    return step, _nothing


# --- JAX (jit-compiled step) -------------------------------------------------------------------
def _jax(work, batches):
    import jax
    import jax.numpy as jnp
    if work == "perop":
        raise NotImplementedError("per-op overhead: not measured for JAX (see peers.py)")
    if work == "cnn":
        raise NotImplementedError("the examples' CNN is compared with PyTorch only (issue 27)")
    key = jax.random.PRNGKey(0)
    params, loss_fn = _JAX_MODELS[work.rstrip("0123456789")](jax, jnp, key)
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)

    def train_step(params, m, v, t, x, key):
        loss, g = jax.value_and_grad(loss_fn)(params, x, key)
        b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, m, v, loss

    compiled = jax.jit(train_step, donate_argnums=(0, 1, 2))
    xs = [jnp.asarray(b) for b in batches]
    state = {"pmv": (params, m, v), "t": 0, "loss": None}

    def step(i):
        state["t"] += 1
        t = jnp.float32(state["t"])
        *pmv, state["loss"] = compiled(*state["pmv"], t, xs[i % len(xs)], jax.random.fold_in(key, i))
        state["pmv"] = tuple(pmv)

    def sync():
        if state["loss"] is not None:
            state["loss"].block_until_ready()
    return step, sync


def _uniform_linear(jax, jnp, key, n_in, n_out):
    """PyTorch's default init: W, b ~ U(±1/√fan_in), W of shape (out, in)."""
    k1, k2 = jax.random.split(key)
    bound = 1 / np.sqrt(n_in)
    return (jax.random.uniform(k1, (n_out, n_in), jnp.float32, -bound, bound),
            jax.random.uniform(k2, (n_out,), jnp.float32, -bound, bound))


def _jax_mlp(name):
    def build(jax, jnp, key):
        widths = _widths(name)
        keys = jax.random.split(key, len(widths) - 1)
        params = [_uniform_linear(jax, jnp, k, a, b) for k, a, b in zip(keys, widths[:-1], widths[1:])]

        def loss_fn(params, x, key):
            h = x
            for i, (W, b) in enumerate(params):
                h = h @ W.T + b
                h = jax.nn.sigmoid(h) if i == len(params) - 1 else jax.nn.relu(h)
            return jnp.mean((h - x) ** 2)
        return params, loss_fn
    return build


def _jax_conv(jax, jnp, key):
    lax = jax.lax
    dn = ("NCHW", "OIHW", "NCHW")
    ks = jax.random.split(key, 6)

    def conv_w(k, o, i):
        bound = 1 / np.sqrt(i * 9)
        return (jax.random.uniform(k, (o, i, 3, 3), jnp.float32, -bound, bound), jnp.zeros((o,), jnp.float32))
    params = [conv_w(ks[0], 16, 1), conv_w(ks[1], 32, 16),
              _uniform_linear(jax, jnp, ks[2], 32 * 49, 20), _uniform_linear(jax, jnp, ks[3], 20, 32 * 49),
              conv_w(ks[4], 16, 32), conv_w(ks[5], 1, 16)]

    def down(h, wb):  # Conv2d(k 3, stride 2, pad 1)
        return lax.conv_general_dilated(h, wb[0], (2, 2), ((1, 1), (1, 1)), dimension_numbers=dn) \
            + wb[1][None, :, None, None]

    def up(h, wb):    # ConvTranspose2d(k 3, stride 2, pad 1, output_padding 1): dilate the input
        return lax.conv_general_dilated(h, wb[0], (1, 1), ((1, 2), (1, 2)), lhs_dilation=(2, 2),
                                        dimension_numbers=dn) + wb[1][None, :, None, None]

    def loss_fn(p, x, key):
        n = x.shape[0]
        h = jax.nn.relu(down(jax.nn.relu(down(x, p[0])), p[1])).reshape(n, -1)
        h = h @ p[2][0].T + p[2][1]
        h = jax.nn.relu(h @ p[3][0].T + p[3][1]).reshape(n, 32, 7, 7)
        y = jax.nn.sigmoid(up(jax.nn.relu(up(h, p[4])), p[5]))
        return jnp.mean((y - x) ** 2)
    return params, loss_fn


def _jax_vae(jax, jnp, key):
    ks = jax.random.split(key, 5)
    sizes = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]
    params = [_uniform_linear(jax, jnp, k, a, b) for k, (a, b) in zip(ks, sizes)]

    def lin(x, wb):
        return x @ wb[0].T + wb[1]

    def loss_fn(p, x, key):
        h = jax.nn.relu(lin(x, p[0]))
        mu, logvar = lin(h, p[1]), lin(h, p[2])
        z = mu + jax.random.normal(key, mu.shape) * jnp.exp(0.5 * logvar)
        logits = lin(jax.nn.relu(lin(z, p[3])), p[4])
        bce = jnp.sum(jnp.logaddexp(0, logits) - x * logits)  # BCE from the logits
        kld = -0.5 * jnp.sum(1 + logvar - mu ** 2 - jnp.exp(logvar))
        return (bce + kld) / x.shape[0]
    return params, loss_fn


def _jax_block(jax, jnp, key):
    ks = jax.random.split(key, 6)
    params = {"ln1": (jnp.ones(DIM), jnp.zeros(DIM)), "ln2": (jnp.ones(DIM), jnp.zeros(DIM)),
              **{name: _uniform_linear(jax, jnp, k, DIM, DIM) for name, k in zip("qkvo", ks[:4])},
              "fc1": _uniform_linear(jax, jnp, ks[4], DIM, MLP), "fc2": _uniform_linear(jax, jnp, ks[5], MLP, DIM)}

    def lin(x, wb):
        return x @ wb[0].T + wb[1]

    def norm(x, gb):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + 1e-5) * gb[0] + gb[1]

    def loss_fn(p, x, key):
        n, t, d = x.shape
        h = norm(x, p["ln1"])
        q, k, v = (lin(h, p[c]).reshape(n, t, HEADS, -1).transpose(0, 2, 1, 3) for c in "qkv")
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // HEADS), axis=-1) @ v
        x = x + lin(a.transpose(0, 2, 1, 3).reshape(n, t, d), p["o"])
        y = x + lin(jax.nn.gelu(lin(norm(x, p["ln2"]), p["fc1"]), approximate=True), p["fc2"])
        return jnp.mean(y ** 2)
    return params, loss_fn


_JAX_MODELS = {"shallow": _jax_mlp("shallow"), "deep": _jax_mlp("deep"), "conv": _jax_conv,
               "vae": _jax_vae, "block": _jax_block}
