"""The VAE's pieces: the noise source, the reparameterisation, the KL and likelihood terms
(against Monte Carlo and closed forms), and the model (ELBO, IWAE, sampling, determinism)."""
import math

import numpy as np
import pytest

import tinyae as ta
from tinyae import functional as F
from tinyae import losses, optim
from tinyae.data import DataLoader
from tinyae.gradcheck import check_module, gradcheck, gradgradcheck
from tinyae.models import VAE


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 12)).astype(np.float32)


# --- noise and the reparameterisation ----------------------------------------------------------
def test_normal_is_seeded_and_takes_dtype_and_device():
    a = F.normal((3, 4), rng=7)
    b = F.normal((3, 4), rng=np.random.default_rng(7))
    assert a.dtype == np.float32 and not a.requires_grad
    np.testing.assert_array_equal(a.data, b.data)
    like = ta.Tensor(np.zeros((2, 5)))
    eps = F.randn_like(like, rng=7)
    assert eps.shape == (2, 5) and eps.dtype == np.float64
    assert not np.array_equal(F.normal((3, 4), rng=8).data, a.data)


def test_reparameterize_value_and_error_signals():
    rng = np.random.default_rng(1)
    mu = ta.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    logvar = ta.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    eps = rng.standard_normal((4, 3))
    z = F.reparameterize(mu, logvar, eps=eps)
    sigma = np.exp(0.5 * logvar.data)
    np.testing.assert_allclose(z.data, mu.data + sigma * eps)
    zbar = rng.standard_normal((4, 3))
    z.backward(zbar)
    np.testing.assert_allclose(mu.grad.data, zbar)                            # μ̄ = z̄
    np.testing.assert_allclose(logvar.grad.data, 0.5 * zbar * (z.data - mu.data))  # ½ z̄ (z − μ)


def test_reparameterize_first_and_second_order_with_drawn_noise():
    rng = np.random.default_rng(2)
    mu, logvar = rng.standard_normal((3, 2)), 0.3 * rng.standard_normal((3, 2))
    fn = lambda m, lv: F.reparameterize(m, lv, rng=5) ** 2  # noqa: E731  (same ε every call)
    assert gradcheck(fn, (mu, logvar))
    assert gradgradcheck(fn, (mu, logvar))


def test_reparameterize_keeps_float32():
    mu = ta.Tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    logvar = ta.Tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    z = F.reparameterize(mu, logvar, eps=np.ones((2, 3)))
    assert z.dtype == np.float32
    z.sum().backward()
    assert logvar.grad.dtype == np.float32


def test_reparameterize_rejects_mismatched_noise():
    mu = ta.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        F.reparameterize(mu, mu, eps=np.zeros((3, 2)))


# --- KL and likelihoods ---------------------------------------------------------------------------
def test_gaussian_kl_matches_monte_carlo():
    """KL(q ‖ p) = E_q[log q(z) − log p(z)], estimated with 400,000 samples per dimension."""
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(0, 1, (2, 3)), rng.normal(0, 0.7, (2, 3))
    closed = losses.gaussian_kl(ta.Tensor(mu), ta.Tensor(logvar), reduction="none").data
    sigma = np.exp(0.5 * logvar)
    eps = rng.standard_normal((400_000,) + mu.shape)
    z = mu + sigma * eps
    log_q = -0.5 * (eps ** 2 + logvar + math.log(2 * math.pi))
    log_p = -0.5 * (z ** 2 + math.log(2 * math.pi))
    samples = log_q - log_p
    estimate, stderr = samples.mean(axis=0), samples.std(axis=0) / math.sqrt(len(samples))
    assert np.all(np.abs(estimate - closed) < 5 * stderr + 1e-3), (estimate, closed, stderr)
    # and the default reduction: summed over dimensions, averaged over the batch
    total = losses.gaussian_kl(ta.Tensor(mu), ta.Tensor(logvar)).item()
    assert total == pytest.approx(closed.sum() / 2)


def test_bernoulli_log_likelihood_is_exact_and_stable():
    z = np.array([[-100.0, -3.0, 0.0, 2.0, 100.0]])
    x = np.array([[0.0, 0.3, 1.0, 0.5, 0.0]])
    p = 1 / (1 + np.exp(-z))
    with np.errstate(divide="ignore"):
        naive = x * np.log(p) + (1 - x) * np.log1p(-p)     # sigmoid-then-log: −inf at z = 100
    assert not np.isfinite(naive).all()
    ours = losses.bernoulli_log_likelihood(ta.Tensor(z), x, reduction="none").data
    np.testing.assert_allclose(ours[0, 1:4], naive[0, 1:4], rtol=1e-12)
    np.testing.assert_allclose(ours[0, [0, 4]], [0.0, -100.0], atol=1e-12)  # exact, finite
    logits = ta.Tensor(z, requires_grad=True)
    losses.bernoulli_log_likelihood(logits, x, reduction="sum").backward()
    np.testing.assert_allclose(logits.grad.data, x - p, atol=1e-30)         # x − σ(z)
    assert losses.bernoulli_log_likelihood(ta.Tensor(z), x).item() == pytest.approx(ours.sum())


def test_gaussian_log_likelihood_matches_the_density():
    rng = np.random.default_rng(4)
    m, x = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    for logvar in (0.0, -1.5, ta.Tensor(np.array(0.4))):
        v = math.exp(float(logvar.data) if isinstance(logvar, ta.Tensor) else logvar)
        expected = (-0.5 * ((x - m) ** 2 / v + math.log(2 * math.pi * v))).sum(axis=1).mean()
        got = losses.gaussian_log_likelihood(ta.Tensor(m), x, logvar).item()
        assert got == pytest.approx(expected)


def test_likelihoods_gradcheck_first_and_second_order():
    rng = np.random.default_rng(5)
    z, x = rng.standard_normal((3, 4)), rng.random((3, 4))
    bern = lambda a, b: losses.bernoulli_log_likelihood(a, b, reduction="none")  # noqa: E731
    gauss = lambda m, lv: losses.gaussian_log_likelihood(m, x, lv)  # noqa: E731
    for fn, inputs in ((bern, (z, x)), (gauss, (z, np.array(0.3)))):
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)


# --- the model ----------------------------------------------------------------------------------
def test_vae_shapes_and_family(batch):
    model = VAE([12, 8], latent=3, rng=0)
    mu, logvar = model.posterior(batch)
    assert mu.shape == logvar.shape == (6, 3)
    assert model.encode(batch).shape == (6, 3)
    r = model(batch).data
    assert r.shape == batch.shape and r.min() >= 0 and r.max() <= 1
    assert model.sample(5).shape == (5, 12)
    assert model.reconstruct(batch).shape == (6, 12)
    assert model.reconstruct(batch, sample=True).shape == (6, 12)
    assert model.interpolate(batch[0], batch[1], steps=7).shape == (7, 12)
    assert model.interpolate(batch[:2], batch[2:4], steps=4).shape == (2, 4, 12)
    strip = model.interpolate(batch[0], batch[1], steps=3).data
    np.testing.assert_allclose(strip[0], model(batch[:1]).data[0], rtol=1e-5, atol=1e-6)
    # 784-400-20 as in the PyTorch example: 784·400+400 + 2(400·20+20) + 20·400+400 + 400·784+784
    assert VAE([784, 400], 20, rng=0).num_parameters() == 652_824


def test_elbo_parts_add_up_and_match_a_hand_computation(batch):
    model = VAE([12, 8], latent=3, rng=0).double()
    x = batch.astype(np.float64)
    loss, parts = model.elbo(x, rng=11)
    assert loss.item() == pytest.approx(parts["reconstruction"].item() + parts["kl"].item())
    mu, logvar = (t.data for t in model.posterior(x))
    eps = np.random.default_rng(11).standard_normal(mu.shape)
    z = mu + np.exp(0.5 * logvar) * eps
    logits = model.decode_logits(z).data
    bce = (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).sum(1).mean()
    assert parts["reconstruction"].item() == pytest.approx(bce)
    assert parts["kl"].item() == pytest.approx(kl)
    value, floats = model.loss(x, return_parts=True)
    assert set(floats) == {"reconstruction", "kl"} and isinstance(floats["kl"], float)


def test_vae_gradcheck_with_fixed_noise(batch):
    model = VAE([12, 5], latent=2, rng=0).double()

    class Objective(ta.nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = model

        def forward(self, x):
            return self.vae.elbo(x, rng=3)[0]
    assert check_module(Objective(), batch[:3].astype(np.float64), check_input=False)


def test_gaussian_vae_learns_its_noise_level(batch):
    model = VAE([12, 8], latent=2, likelihood="gaussian", rng=0)
    assert "log_sigma2" in dict(model.named_parameters())
    opt = optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < first
    assert model.log_sigma2.item() < 0  # σ² shrinks below 1 for pixels in [0, 1]
    fixed = VAE([12, 8], latent=2, likelihood="gaussian", sigma=0.1, rng=0)
    assert "log_sigma2" not in dict(fixed.named_parameters())
    assert np.isfinite(fixed.loss(batch).item())


def test_same_seed_same_run_bit_for_bit(batch):
    def run(seed):
        model = VAE([12, 8], latent=3, rng=seed)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(3):
            opt.zero_grad()
            loss = model.loss(batch)
            loss.backward()
            opt.step()
        return loss.item(), model.sample(4).data, model.log_likelihood(batch, k=5)
    a, b, c = run(0), run(0), run(1)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    assert a[0] != c[0]


def test_iwae_bound_is_above_the_elbo_and_tightens_with_k():
    rng = np.random.default_rng(6)
    prototypes = rng.random((4, 12)) < 0.5          # four "digits", each pixel flipped at 10%
    x = prototypes[rng.integers(0, 4, 200)] ^ (rng.random((200, 12)) < 0.1)
    x = x.astype(np.float64)
    model = VAE([12, 16], latent=2, rng=0).double()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    with ta.no_grad():
        elbo = np.mean([-model.elbo(x, rng=s)[0].item() for s in range(100)])
    est = {k: model.log_likelihood(x, k=k, rng=k).mean() for k in (1, 10, 100)}
    assert est[1] == pytest.approx(elbo, abs=0.1)  # k = 1 is the ELBO itself (in expectation)
    assert est[1] < est[10] < est[100]
    assert -est[100] <= -elbo                       # −log p̂(x) ≤ −ELBO
    # taking images and samples in small chunks estimates the same number
    small = model.log_likelihood(x, k=100, rng=4, batch_elements=500)
    assert small.shape == (200,) and small.mean() == pytest.approx(est[100], abs=0.05)


def test_fit_trains_a_vae_with_its_own_loss(batch):
    from tinyae.train import fit
    model = VAE([12, 8], latent=2, rng=0)
    x = np.random.default_rng(1).random((64, 12)).astype(np.float32)
    history = fit(model, optim.Adam(model.parameters(), lr=1e-2),
                  DataLoader(x, batch_size=16, shuffle=True, seed=0), epochs=3,
                  seed=0, progress=False, verbose=False)       # minimises model.loss(x)
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="likelihood"):
        VAE([12, 8], 2, likelihood="poisson")
    with pytest.raises(ValueError, match="latent"):
        VAE([12, 8], 0)
    with pytest.raises(ValueError, match="sizes"):
        VAE([12], 2)
