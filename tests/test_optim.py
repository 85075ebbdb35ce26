"""Optimizers, schedules and clipping: hand-computed formulas, PyTorch, convergence, resume."""
import math

import numpy as np
import pytest

import tinyae
from tinyae import optim

# (optimizer name, keyword arguments): every update path of every optimizer.
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.05)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.05)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
]
IDS = [f"{name}-{'-'.join(kw)}" for name, kw in CASES]


def reference(name, kw, theta, grads):
    """The update formulas written out in NumPy, one step per gradient; returns every θ."""
    lr, wd = kw["lr"], kw.get("weight_decay", 0.01 if name == "AdamW" else 0)
    mu, tau, alpha = kw.get("momentum", 0), kw.get("dampening", 0), kw.get("alpha", 0.99)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    eps = kw.get("eps", {"Adagrad": 1e-10, "Adadelta": 1e-6}.get(name, 1e-8))
    theta, out = theta.copy(), []
    m = v = s = b = None
    u = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if name == "AdamW":
            theta = theta - lr * wd * theta
        else:
            g = g + wd * theta
        if name == "SGD":
            if mu:
                b = g if b is None else mu * b + (1 - tau) * g
                g = g + mu * b if kw.get("nesterov") else b
            theta = theta - lr * g
        elif name == "Adagrad":
            s = g ** 2 if s is None else s + g ** 2
            theta = theta - lr * g / (np.sqrt(s) + eps)
        elif name == "Adadelta":
            rho = kw.get("rho", 0.9)
            v = (1 - rho) * g ** 2 if v is None else rho * v + (1 - rho) * g ** 2
            d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u = rho * u + (1 - rho) * d ** 2
            theta = theta - lr * d
        elif name == "RMSprop":
            v = (1 - alpha) * g ** 2 if v is None else alpha * v + (1 - alpha) * g ** 2
            d = g / (np.sqrt(v) + eps)
            if mu:
                b = d if b is None else mu * b + d
                d = b
            theta = theta - lr * d
        else:  # Adam, AdamW
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * g ** 2 if v is None else b2 * v + (1 - b2) * g ** 2
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def run(name, kw, theta, grads):
    """tinyae's optimizer on one parameter, fed the given gradients; returns every θ."""
    p = tinyae.Tensor(theta.copy(), requires_grad=True)
    opt = getattr(optim, name)([p], **kw)
    out = []
    for g in grads:
        p.grad = tinyae.Tensor(g.copy())
        opt.step()
        out.append(p.data.copy())
    return out


def problem(seed=0, steps=4, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(steps)]


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_steps_match_hand_formulas(name, kw):
    theta, grads = problem()
    for got, want in zip(run(name, kw, theta, grads), reference(name, kw, theta, grads)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_steps_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    theta, grads = problem(seed=1, steps=6)
    p = torch.tensor(theta.copy(), requires_grad=True)
    opt = getattr(torch.optim, name)([p], **kw)
    want = []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        want.append(p.detach().numpy().copy())
    for got, w in zip(run(name, kw, theta, grads), want):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_float32_stays_float32_and_grad_is_untouched(name, kw):
    theta, grads = problem()
    p = tinyae.Tensor(theta.astype(np.float32), requires_grad=True)
    opt = getattr(optim, name)([p], **kw)
    g = grads[0].astype(np.float32)
    for _ in range(2):
        p.grad = tinyae.Tensor(g)
        opt.step()
        np.testing.assert_array_equal(p.grad.data, grads[0].astype(np.float32))
    assert p.dtype == np.float32
    for value in opt.state[0].values():
        assert not hasattr(value, "dtype") or value.dtype == np.float32


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_converges_on_a_quadratic(name, kw):
    """E(θ) = ½ θᵀAθ − bᵀθ has its minimum at θ* = A⁻¹b (the decay shifts it: (A + λI)⁻¹b)."""
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A, b = q @ np.diag(np.linspace(0.5, 2.0, 5)) @ q.T, rng.standard_normal(5)
    wd = kw.get("weight_decay", 0)
    if name == "AdamW":  # decoupled decay ηλθ is not a gradient: it pulls towards 0 differently
        kw = dict(kw, weight_decay=0)
    theta_star = np.linalg.solve(A + wd * np.eye(5) if name != "AdamW" else A, b)
    theta = tinyae.Tensor(np.zeros(5), requires_grad=True)
    # Adaptive methods move each weight by about η per step: give them a larger η to get there.
    opt = getattr(optim, name)([theta], **dict(kw, lr=kw["lr"] * 5 if name != "SGD" else kw["lr"]))
    steps = 600
    schedule = optim.CosineAnnealingLR(opt, T_max=steps)  # anneal so Adam/RMSprop settle
    for _ in range(steps):
        opt.zero_grad()
        energy = 0.5 * (theta @ (tinyae.Tensor(A) @ theta)) - tinyae.Tensor(b) @ theta
        energy.backward()
        opt.step()
        schedule.step()
    np.testing.assert_allclose(theta.data, theta_star, atol=2e-3)


def test_params_without_grad_are_skipped_and_generators_accepted():
    a = tinyae.Tensor(np.ones(3), requires_grad=True)
    b = tinyae.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam((p for p in [a, b]), lr=0.1)
    (a * 2.0).sum().backward()  # b gets no gradient
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data == 1)
    assert opt.state[1] == {}
    opt.zero_grad()
    assert a.grad is None


def test_read_only_broadcast_gradient_is_fine():
    w = tinyae.Tensor(np.zeros((2, 3)), requires_grad=True)
    w.sum().backward()  # w.grad is a broadcast view of one number
    opt = optim.SGD([w], lr=0.5, momentum=0.9, weight_decay=0.1)
    opt.step()
    opt.step()
    np.testing.assert_allclose(w.data, -0.5 - 0.5 * (0.9 + 1 + 0.1 * -0.5))  # b = μb + g + λθ


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr"),
    (lambda p: optim.SGD(p, lr="fast"), "lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "betas"),
    (lambda p: optim.Adam(p, betas=0.9), "betas"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay"),
    (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
    (lambda p: optim.Adagrad([], lr=0.1), "model.parameters()"),
    (lambda p: optim.Adam(p + p), "twice"),
    (lambda p: optim.Adam([p[0] * 2]), "leaf"),
])
def test_bad_arguments_are_explained(make, match):
    params = [tinyae.Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(params)


def test_wrong_kinds_of_params_are_explained():
    w = tinyae.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([np.ones(2)], lr=0.1)


# --- schedules -----------------------------------------------------------------------------
def lrs(make, steps=8, lr=1.0):
    opt = optim.SGD([tinyae.Tensor(np.ones(1), requires_grad=True)], lr=lr)
    sched = make(opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.lr)
    return out


def test_schedule_sequences():
    np.testing.assert_allclose(lrs(lambda o: optim.StepLR(o, 3, gamma=0.5)),
                               [1, 1, 1, .5, .5, .5, .25, .25, .25])
    np.testing.assert_allclose(lrs(lambda o: optim.ExponentialLR(o, 0.9)), 0.9 ** np.arange(9))
    np.testing.assert_allclose(lrs(lambda o: optim.CosineAnnealingLR(o, 4, eta_min=0.1), steps=4),
                               [1, 0.1 + 0.45 * (1 + math.sqrt(0.5)), 0.55, 0.1 + 0.45 * (1 - math.sqrt(0.5)), 0.1])
    np.testing.assert_allclose(lrs(lambda o: optim.LinearWarmup(o, 4), steps=6),
                               [.25, .5, .75, 1, 1, 1, 1])
    warm_then_decay = lrs(lambda o: optim.LinearWarmup(o, 2, then=optim.ExponentialLR(o, 0.5)), steps=5)
    np.testing.assert_allclose(warm_then_decay, [.5, 1, 1, .5, .25, .125])


@pytest.mark.parametrize("name, args", [("StepLR", (3, 0.5)), ("ExponentialLR", (0.9,)),
                                        ("CosineAnnealingLR", (5, 0.01))])
def test_schedules_match_torch(name, args):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched, want = getattr(torch.optim.lr_scheduler, name)(opt, *args), []
    for _ in range(12):
        want.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lrs(lambda o: getattr(optim, name)(o, *args), steps=11, lr=0.3), want,
                               rtol=1e-9)


# --- clipping ------------------------------------------------------------------------------
def test_clip_grad_norm_rescales_all_gradients_together():
    a = tinyae.Tensor(np.zeros(2), requires_grad=True)
    b = tinyae.Tensor(np.zeros(3), requires_grad=True)
    unused = tinyae.Tensor(np.zeros(1), requires_grad=True)
    a.grad, b.grad = tinyae.Tensor(np.array([3.0, 0.0])), tinyae.Tensor(np.array([0.0, 4.0, 0.0]))
    assert optim.clip_grad_norm_([a, b, unused], max_norm=10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(a.grad.data, [3, 0])  # under the limit: untouched
    assert optim.clip_grad_norm_(iter([a, b, unused]), max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6, 0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, [0, 0.8, 0], rtol=1e-6)
    assert unused.grad is None


def test_clip_grad_norm_with_a_shared_gradient_tensor():
    a = tinyae.Tensor(np.zeros(4), requires_grad=True)
    b = tinyae.Tensor(np.zeros(4), requires_grad=True)
    (a + b).sum().backward()  # a.grad and b.grad may be the same read-only array
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(math.sqrt(8))
    np.testing.assert_allclose(a.grad.data, 1 / math.sqrt(8), rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, 1 / math.sqrt(8), rtol=1e-6)


# --- checkpoint and resume -----------------------------------------------------------------
@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(name, kw):
    theta, grads = problem(seed=3, steps=6)
    grads = [g.astype(np.float32) for g in grads]

    def train(p, opt, sched, gs):
        for g in gs:
            p.grad = tinyae.Tensor(g)
            opt.step()
            sched.step()
        return p.data.copy()

    p = tinyae.Tensor(theta.astype(np.float32), requires_grad=True)
    opt = getattr(optim, name)([p], **kw)
    sched = optim.StepLR(opt, 2, gamma=0.5)
    train(p, opt, sched, grads[:3])
    saved, saved_sched, saved_p = opt.state_dict(), sched.state_dict(), p.data.copy()
    straight_on = train(p, opt, sched, grads[3:])

    q = tinyae.Tensor(saved_p, requires_grad=True)
    opt2 = getattr(optim, name)([q], **kw)
    sched2 = optim.StepLR(opt2, 2, gamma=0.5)
    opt2.load_state_dict(saved)
    sched2.load_state_dict(saved_sched)
    np.testing.assert_array_equal(train(q, opt2, sched2, grads[3:]), straight_on)


def test_state_dict_is_a_copy_and_mismatches_are_explained():
    p = tinyae.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p])
    p.grad = tinyae.Tensor(np.ones(3))
    opt.step()
    saved = opt.state_dict()
    moment = saved["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], moment)
    with pytest.raises(ValueError, match="belongs to Adam"):
        optim.SGD([p], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([tinyae.Tensor(np.ones(4), requires_grad=True)]).load_state_dict(saved)
    with pytest.raises(ValueError, match="2 parameters|holds 1"):
        optim.Adam([p, tinyae.Tensor(np.ones(1), requires_grad=True)]).load_state_dict(saved)


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.1),
                                  lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)])
def test_threaded_update_matches_serial(make):
    """Big parameters are updated side by side in a thread pool when threads > 1: the same
    numbers as one after the other, and an error in one update still reaches the caller."""
    rng = np.random.default_rng(0)
    shapes = [(300, 300), (7,), (2 ** 16,), (3, 4)]
    results = []
    for threads in (1, 2):
        params = [tinyae.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in shapes]
        grads = np.random.default_rng(1)
        opt = make(params)
        opt.threads = threads
        for _ in range(3):
            for p in params:
                p.grad = tinyae.Tensor(grads.standard_normal(p.shape).astype(np.float32))
            opt.step()
        results.append([p.data.copy() for p in params])
        rng = np.random.default_rng(0)
    for serial, threaded in zip(*results):
        np.testing.assert_array_equal(serial, threaded)
    params[0].grad = tinyae.Tensor(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="shape"):
        opt.step()
