"""Misuse, bad input and faults: each case either gives the right answer or an error that says
what was wrong and what to do — never a silently wrong answer (issue 7)."""
import os
import threading

import numpy as np
import pytest

import tinyae
import tinyae.functional as F
from tinyae import Tensor, from_numpy, nn, no_grad, optim


def leaf(data, dtype="float64"):
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


# --- memory sharing: tensor() copies, from_numpy() shares, every leaf owns its .grad -------------
def test_tensor_and_Tensor_copy_the_callers_array():
    a = np.ones(3, dtype="float32")
    for t in (tinyae.tensor(a), Tensor(a), tinyae.tensor(a, requires_grad=True)):
        t.data[0] = 5.0
    assert a[0] == 1.0


def test_from_numpy_shares_the_callers_array():
    a = np.ones(3, dtype="float32")
    t = from_numpy(a)
    a[0] = 7.0
    assert t.data[0] == 7.0 and t.dtype == np.float32
    with pytest.raises(TypeError, match="NumPy array.*tinyae.tensor"):
        from_numpy([1.0, 2.0])


def test_an_optimizer_step_never_changes_the_array_a_parameter_was_made_from():
    a = np.ones((2, 2), dtype="float32")
    p = nn.Parameter(a)
    opt = optim.SGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a, np.ones((2, 2)))
    assert not np.allclose(p.data, 1.0)


def test_numpy_returns_a_copy():
    t = leaf([1.0, 2.0])
    t.numpy()[0] = 9.0
    assert t.data[0] == 1.0


def test_two_leaves_never_share_one_grad_buffer():
    for reduce in (Tensor.mean, Tensor.sum):
        a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
        reduce(a + b).backward()
        assert not np.shares_memory(a.grad.data, b.grad.data)
        before = b.grad.data.copy()
        a.grad.data += 1.0  # an in-place update of one (clipping, optimizer) leaves the other alone
        np.testing.assert_array_equal(b.grad.data, before)


def test_grad_never_aliases_the_ybar_passed_in():
    x = leaf([1.0, 2.0])
    ybar = Tensor(np.array([1.0, 1.0]))
    (x + 0.0).backward(ybar)
    x.grad.data *= 3.0
    np.testing.assert_array_equal(ybar.data, [1.0, 1.0])


def test_a_fresh_error_signal_becomes_grad_without_a_copy_but_is_never_shared():
    """A .grad takes the array an op's backward made when nothing else holds it (no copy);
    the same array sent to two leaves, or an input handed back as its own x̄, is copied."""
    from tinyae.autograd import Function

    class Twice(Function):  # y = 2a + 2b, its backward hands ONE fresh tensor to both inputs
        def forward(self, a, b):
            return 2 * a + 2 * b

        def backward(self, ybar):
            g = ybar * 2.0
            return g, g

    class Odd(Function):  # a user's backward returning its input as the error signal
        def forward(self, a):
            return a * 1.0

        def backward(self, ybar):
            return self.inputs[0]

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    Twice.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0])
    c = leaf([5.0, 6.0])
    Odd.apply(c).backward(Tensor(np.ones(2)))
    c.grad.data += 1.0
    np.testing.assert_array_equal(c.data, [5.0, 6.0])
    w, x = leaf(np.ones((3, 2))), Tensor(np.ones((4, 2)))
    (x @ w.T).sum().backward()  # W̄ = z̄ᵀx, a fresh array: it becomes w.grad as it is
    assert w.grad.data.base is None and not np.shares_memory(w.grad.data, w.data)


def test_the_sole_holder_test_tells_a_fresh_array_from_a_shared_one():
    """The no-copy path of .grad relies on a reference count measured on this interpreter: an
    array only one Tensor holds is "sole"; one a second Tensor (or a view) also holds is not."""
    from tinyae.autograd import _sole_holder
    fresh = Tensor(np.ones(3), copy=False)
    assert _sole_holder(fresh)
    other = Tensor(fresh.data, copy=False)
    assert not _sole_holder(fresh) and not _sole_holder(other)
    del other
    assert _sole_holder(fresh)
    assert not _sole_holder(Tensor(np.ones((2, 3))[0], copy=False))  # a view: its base holds it


def test_grads_with_create_graph_are_owned_too():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and not np.shares_memory(a.grad.data, b.grad.data)


# --- tensors as values ------------------------------------------------------------------------
def test_comparisons_are_elementwise_boolean_tensors_without_grad():
    t, u = leaf([1.0, 2.0, 3.0]), Tensor(np.array([1.0, 0.0, 5.0]))
    assert (t == u).data.tolist() == [True, False, False]
    assert (t != u).data.tolist() == [False, True, True]
    assert (t < u).data.tolist() == [False, False, True]
    assert (t >= 2).data.tolist() == [False, True, True]
    assert (np.array([1.0, 2.0, 3.0]) == t).data.tolist() == [True, True, True]
    for r in (t == u, t < u, t > 1.5):
        assert r.dtype == np.bool_ and not r.requires_grad


def test_bool_of_one_element_works_and_of_several_is_ambiguous():
    best = Tensor(np.array(2.0))
    loss = Tensor(np.array(1.0))
    assert loss < best  # `if loss < best:` works on one-element tensors
    assert not Tensor(np.array([0.0]))
    with pytest.raises(RuntimeError, match="2 elements is ambiguous.*any\\(\\).*all\\(\\)"):
        bool(Tensor(np.array([0.0, 0.0])))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(Tensor(np.zeros(0)))
    assert not Tensor(np.array([0.0, 0.0])).any() and Tensor(np.array([1.0, 2.0])).all()


def test_tensors_still_hash_by_identity_for_sets_and_dicts():
    a, b = Tensor(np.array([1.0])), Tensor(np.array([1.0]))
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1
    assert a in {a} and b not in {a}
    assert (a == None) is False and (a != None) is True  # noqa: E711  (`x.grad == None` idiom)


def test_float_int_len_and_numpy_conversion():
    assert float(Tensor(np.array([2.5]))) == 2.5 and int(Tensor(np.array(3.0))) == 3
    with pytest.raises(TypeError, match="one element.*shape \\(2,\\)"):
        float(Tensor(np.array([1.0, 2.0])))
    with pytest.raises(TypeError, match="0-d tensor.*item"):
        len(Tensor(np.array(1.0)))
    np.testing.assert_array_equal(np.asarray(Tensor(np.array([1.0, 2.0]))), [1.0, 2.0])
    with pytest.raises(TypeError, match="requires grad.*detach\\(\\).numpy\\(\\)"):
        np.asarray(leaf([1.0]))


# --- grad() -----------------------------------------------------------------------------------
def test_grad_of_an_input_not_in_the_graph_raises_unless_allowed():
    x, other = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="input 0 .*not part of the graph.*allow_unused=True"):
        tinyae.grad((x * 3).sum(), other)
    assert tinyae.grad((x * 3).sum(), other, allow_unused=True).data.tolist() == [0.0]


# --- grad mode and anomaly mode are per thread ------------------------------------------------------
def test_no_grad_and_anomaly_mode_are_per_thread():
    inside, release, seen = threading.Event(), threading.Event(), {}

    def other_thread():
        with no_grad(), tinyae.detect_anomaly():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_thread)
    thread.start()
    inside.wait(5)
    try:
        x = leaf([1.0])
        seen["recorded"] = (x * 2).requires_grad
        seen["anomaly"] = tinyae.autograd._state["anomaly"]
    finally:
        release.set()
        thread.join()
    assert seen == {"recorded": True, "anomaly": False}

    result = {}
    with no_grad():
        t = threading.Thread(target=lambda: result.update(g=(leaf([1.0]) * 2).requires_grad))
        t.start()
        t.join()
    assert result["g"] is True  # a new thread starts with grad mode on, as in PyTorch


# --- Function errors ------------------------------------------------------------------------------
def test_numpys_own_exceptions_keep_their_type_and_gain_the_op():
    with pytest.raises(np._core._exceptions._UFuncNoLoopError if hasattr(np, "_core")
                       else TypeError) as info:
        Tensor(np.array(["a"])) * 2
    assert "Mul" in "\n".join(getattr(info.value, "__notes__", [])) + str(info.value)


def test_plain_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match="MatMul.*\\(2, 3\\), \\(2, 3\\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))


class WrongShape(tinyae.Function):
    def forward(self, a, b):
        return a * b

    def backward(self, ybar):
        return ybar, ybar.sum(axis=0)  # b̄ of the wrong shape


class TooFew(tinyae.Function):
    def forward(self, a, b):
        return a + b

    def backward(self, ybar):
        return ybar


def test_a_user_functions_wrongly_shaped_signal_is_named():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((4, 2, 3)))
    with pytest.raises(RuntimeError, match="WrongShape.backward .*shape \\(2, 3\\) for input 1, "
                                           "which has shape \\(4, 2, 3\\)"):
        WrongShape.apply(a, b).sum().backward()
    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 error signals for 2 inputs"):
        TooFew.apply(leaf([1.0]), leaf([2.0])).sum().backward()


# --- losses refuse targets they cannot mean -------------------------------------------------------
def test_bce_refuses_pixels_0_to_255():
    pred = Tensor(np.full((2, 4), 0.5, dtype="float32"), requires_grad=True)
    pixels = np.array([[0, 128, 255, 3], [255, 0, 0, 9]], dtype=np.uint8)
    with pytest.raises(ValueError, match="bce: the targets must lie in \\[0, 1\\], got values "
                                         "from 0 to 255.*divided by 255"):
        tinyae.losses.bce(pred, pixels)
    with pytest.raises(ValueError, match="bce_with_logits: the targets must lie in \\[0, 1\\]"):
        tinyae.losses.bce_with_logits(pred, pixels)
    with pytest.raises(ValueError, match="NaN"):
        tinyae.losses.bce(pred, np.full((2, 4), np.nan, dtype="float32"))
    assert tinyae.losses.bce(pred, pixels / 255.0).item() > 0


def test_kl_sparsity_refuses_activations_outside_0_1():
    with pytest.raises(ValueError, match="kl_sparsity: the activations h must lie in \\[0, 1\\].*sigmoid"):
        tinyae.losses.kl_sparsity(Tensor(np.array([[0.5, 3.0]])), 0.05)


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "sse"])
def test_a_mean_over_an_empty_batch_is_an_error(loss):
    empty = Tensor(np.zeros((0, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="the batch is empty \\(shape \\(0, 4\\)\\).*data loader"):
        getattr(tinyae.losses, loss)(empty, np.zeros((0, 4)))
    assert tinyae.losses.mse(empty, np.zeros((0, 4)), reduction="sum").item() == 0.0


def test_mean_and_var_backward_never_divide_by_zero():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(all="ignore"):
        F.mean(x, axis=0).sum().backward()
    assert x.grad.shape == (0, 3)
    x = Tensor(np.array([1.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        F.var(x, ddof=1).backward()  # one value has no sample variance: NaN, like y
    assert np.isnan(x.grad.data).all()


# --- numerics ------------------------------------------------------------------------------------
def _expit64(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


C = np.sqrt(2 / np.pi)
# float32 result of each function at the tails, against an independent float64 reference
TAILS = {
    "sigmoid": (F.sigmoid, _expit64, np.linspace(-80, 80, 321)),
    "tanh": (F.tanh, np.tanh, np.linspace(-20, 20, 161)),
    "softplus": (F.softplus, lambda z: np.logaddexp(0, z), np.linspace(-80, 80, 321)),
    "gelu": (F.gelu, lambda z: z * _expit64(2 * C * (z + 0.044715 * z ** 3)), np.linspace(-8, 8, 161)),
    "elu": (F.elu, lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), np.linspace(-30, 30, 121)),
    "exp": (F.exp, np.exp, np.linspace(-80, 80, 161)),
    "log": (F.log, np.log, np.geomspace(1e-30, 1e30, 121)),
    "logsumexp": (lambda z: F.logsumexp(z.reshape(-1, 1) + Tensor(np.array([0.0, -3.0], "float32")), axis=1),
                  lambda z: np.logaddexp(z, z - 3.0), np.linspace(-80, 80, 161)),
    "log_softmax": (lambda z: F.log_softmax(F.stack([z, z * 0], axis=1), axis=1)[:, 0],
                    lambda z: -np.logaddexp(0, -z), np.linspace(-80, 80, 161)),
    "softmax": (lambda z: F.softmax(F.stack([z, z * 0], axis=1), axis=1)[:, 0], _expit64,
                np.linspace(-80, 80, 161)),
    "bce_with_logits": (lambda z: tinyae.losses.bce_with_logits(z, np.ones_like(z.data), reduction="none"),
                        lambda z: np.logaddexp(0, -z), np.linspace(-80, 80, 161)),
}


@pytest.mark.parametrize("name", sorted(TAILS))
def test_float32_keeps_relative_precision_at_both_tails(name):
    fn, reference, z = TAILS[name]
    z = z.astype("float32")
    got = fn(Tensor(z)).data
    want = reference(z.astype("float64"))
    assert got.dtype == np.float32
    normal = np.abs(want) > np.finfo(np.float32).tiny  # below that float32 has no relative precision
    # GELU's argument 2√(2/π)(z + 0.044715z³) is itself rounded: allow for its condition number
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-5 if name == "gelu" else 4e-6, atol=0)


def test_sigmoid_minus_17_is_right():
    assert F.sigmoid(Tensor(np.array(-17.0, "float32"))).item() == pytest.approx(4.1399375e-08, rel=1e-6)


def test_power_zero_has_a_zero_gradient_at_zero():
    x = leaf([0.0, 2.0])
    (x ** 0).sum().backward()
    assert x.grad.data.tolist() == [0.0, 0.0]
    a, b = leaf([0.0, 0.0, 2.0]), leaf([0.0, 2.0, 0.0])
    F.pow(a, b).sum().backward()
    assert np.isfinite(a.grad.data).all() and np.isfinite(b.grad.data).all()
    assert a.grad.data.tolist() == [0.0, 0.0, 0.0] and b.grad.data[:2].tolist() == [0.0, 0.0]


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    z = leaf([[-np.inf, -np.inf], [0.0, -np.inf]])
    y = F.logsumexp(z, axis=1)
    assert y.data.tolist() == [-np.inf, 0.0]
    y[1].backward()
    assert z.grad.data.tolist() == [[0.0, 0.0], [1.0, 0.0]]
    assert F.logsumexp(leaf([-np.inf])).item() == -np.inf
    assert F.logsumexp(leaf([np.inf, 0.0])).item() == np.inf


# --- checkpoints: nothing lost, nothing half-done ----------------------------------------------------
def _two_layers():
    return nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)),
                         nn.Linear(2, 1, rng=np.random.default_rng(1)))


def test_load_checks_every_entry_before_copying_any(tmp_path):
    model = _two_layers()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = {k: v + 1 for k, v in before.items()}
    last = list(state)[-1]
    state[last] = np.array(["x"] * state[last].size).reshape(state[last].shape)  # bad dtype, last
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(TypeError, match=f"'{last}' has dtype <U1 in the checkpoint but float32"):
        model.load(tmp_path / "bad.npz")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # nothing was overwritten


def test_load_of_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    (tmp_path / "notes.npz").write_text("hello")
    with pytest.raises(ValueError, match="not an .npz file written by Module.save, or it is damaged"):
        _two_layers().load(tmp_path / "notes.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        _two_layers().load(tmp_path / "one.npy")


def test_a_killed_save_leaves_a_tmp_file_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    target = tmp_path / "model.npz"
    stale = [tmp_path / f"model.npz.{dead.pid}.abcd1234.tmp", tmp_path / "model.npz.zz9_ab12.tmp"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    alive = tmp_path / f"model.npz.{1}.live0000.tmp"   # pid 1 runs: its writer may still be busy
    other = tmp_path / f"other.npz.{dead.pid}.abcd1234.tmp"
    alive.write_bytes(b"")
    other.write_bytes(b"")
    _two_layers().save(target)
    assert not any(p.exists() for p in stale)
    assert alive.exists() and other.exists() and target.exists()


def test_ambiguous_checkpoint_keys_are_refused(tmp_path):
    from tinyae.io import load_tree, save_tree
    x, y = np.zeros(2), np.ones(2)
    for tree in ({"a/b": x, "a": {"b": y}}, {1: x, "1": y}, {"tree.json": x}):
        with pytest.raises(ValueError, match="rename"):
            save_tree(tmp_path / "ckpt.npz", tree)
    save_tree(tmp_path / "ok.npz", {"a": {"b": y}, "c": [x, 3]})
    back = load_tree(tmp_path / "ok.npz")
    np.testing.assert_array_equal(back["a"]["b"], y)


# --- the CLI: one clear line and exit status 2 for every user mistake ----------------------------------
def _cli(args, capsys, env=None):
    from tinyae import cli
    try:
        code = cli.main(args)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("args, message", [
    (["train", "shallow", "--seed", "-1"], "--seed: must be 0 or more, got -1"),
    (["train", "shallow", "--lr", "inf"], "--lr: must be positive and finite, got inf"),
    (["train", "shallow", "--lr", "nan"], "--lr: must be positive and finite, got nan"),
])
def test_cli_refuses_bad_numbers(args, message, capsys):
    code, err = _cli(args, capsys)
    assert code == 2 and message in err


def test_cli_checks_out_before_training(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for command in (["train", "shallow", "--quick"], ["run", "00"]):
        code, err = _cli(command + ["--out", str(a_file)], capsys)
        assert code == 2 and "is a file, not a folder; choose a folder" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        code, err = _cli(["train", "shallow", "--quick", "--out", str(locked)], capsys)
        assert code == 2 and "cannot write there" in err
    finally:
        locked.chmod(0o700)


def test_a_lesson_checks_out_and_seed_before_running(tmp_path):
    from tinyae.lesson import Lesson
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, message in ((["--out", str(a_file)], "is a file, not a folder"),
                          (["--seed", "-1"], "must be 0 or more")):
        with pytest.raises(SystemExit) as stop:
            Lesson(99, "misuse", "none", argv=argv + ["--quick"])
        assert stop.value.code == 2


def test_an_unusable_TINYAE_BACKEND_does_not_break_import_or_info():
    import os
    import subprocess
    import sys
    env = dict(os.environ, TINYAE_BACKEND="cupy-please")
    info = subprocess.run([sys.executable, "-m", "tinyae", "info"], env=env, capture_output=True, text=True)
    assert info.returncode == 0 and "none usable" in info.stdout and "unknown backend" in info.stdout
    train = subprocess.run([sys.executable, "-m", "tinyae", "train", "shallow", "--quick"], env=env,
                           capture_output=True, text=True)
    assert train.returncode == 2 and "Traceback" not in train.stderr
    assert "TINYAE_BACKEND=cupy-please" in train.stderr and "unset it" in train.stderr
    use = subprocess.run([sys.executable, "-c", "import tinyae; tinyae.tensor([1.0])"], env=env,
                         capture_output=True, text=True)
    assert use.returncode == 1 and "unset it (or set it to numpy)" in use.stderr


def test_resume_after_changing_the_model_is_a_usage_error(tmp_path, capsys):
    import tinyae.train as train
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid())
    opt = optim.Adam(model.parameters(), lr=1e-3)
    data = np.random.default_rng(0).random((8, 4)).astype("float32")
    from tinyae.data import DataLoader
    loader = DataLoader(data, batch_size=4)
    loss = lambda m, x: tinyae.losses.mse(m(x), x)  # noqa: E731
    train.fit(model, opt, loader, 1, loss_fn=loss, checkpoint_dir=tmp_path, verbose=False, progress=False)
    other = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4), nn.Sigmoid())
    before = {k: v.copy() for k, v in other.state_dict().items()}
    with pytest.raises(train.ResumeError, match="cannot resume from .*different model.*new folder"):
        train.fit(other, optim.Adam(other.parameters(), lr=1e-3), loader, 2, loss_fn=loss,
                  checkpoint_dir=tmp_path, resume=True, verbose=False, progress=False)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# --- layers check their arguments when they are built ---------------------------------------------
@pytest.mark.parametrize("build, message", [
    (lambda: nn.Conv2d(1, 1, 0), "Conv2d: kernel_size must be an int ≥ 1 or a pair of them, got 0"),
    (lambda: nn.Conv2d(1, 1, 2.0), "Conv2d: kernel_size must be an int ≥ 1 or a pair of them, got 2.0"),
    (lambda: nn.Conv2d(1, 1, 3, stride=0), "Conv2d: stride must be an int ≥ 1"),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1), "Conv2d: padding must be an int ≥ 0"),
    (lambda: nn.ConvTranspose2d(1, 1, 0), "ConvTranspose2d: kernel_size must be an int ≥ 1"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, output_padding=-1), "output_padding must be an int ≥ 0"),
    (lambda: nn.MaxPool2d(0), "MaxPool2d: kernel_size must be an int ≥ 1"),
    (lambda: nn.AvgPool2d(2.0), "AvgPool2d: kernel_size must be an int ≥ 1"),
    (lambda: nn.MaxPool2d(2, padding=2), "at most half the kernel size"),
    (lambda: nn.Upsample(2.5), "Upsample: scale_factor must be an int ≥ 1"),
    (lambda: nn.LeakyReLU("a"), "LeakyReLU: negative_slope must be a finite number"),
    (lambda: nn.LayerNorm(0), "LayerNorm: normalized_shape must be a positive int"),
    (lambda: nn.BatchNorm1d(4, eps=0), "BatchNorm1d: eps must be a small positive number"),
    (lambda: nn.Flatten(1.5), "Flatten: start_dim must be an int"),
    (lambda: nn.Unflatten(1, (2, 0)), "unflattened_size a tuple of positive ints"),
])
def test_layer_constructors_validate_their_arguments(build, message):
    with pytest.raises(ValueError) as info:
        build()
    assert message in str(info.value)


# --- data: a swapped or damaged file is never served -------------------------------------------------
def _idx_pair(directory, images, labels, gz=False):
    from tinyae.data import write_idx
    names = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    names = tuple(n + ".gz" for n in names) if gz else names
    write_idx(directory / names[0], images)
    write_idx(directory / names[1], labels)
    return [directory / n for n in names]


def test_a_swapped_file_with_the_same_size_and_mtime_is_read_again(tmp_path):
    from tinyae.data import load_mnist
    images = np.zeros((4, 28, 28), np.uint8)
    paths = _idx_pair(tmp_path, images, np.array([1, 2, 3, 4], np.uint8))
    stamp = os.stat(paths[1]).st_mtime_ns
    assert load_mnist("test", root=tmp_path, download=False)[1].tolist() == [1, 2, 3, 4]
    _idx_pair(tmp_path, images, np.array([5, 6, 7, 8], np.uint8))  # same sizes ...
    os.utime(paths[1], ns=(stamp, stamp))                           # ... and the old mtime
    assert load_mnist("test", root=tmp_path, download=False)[1].tolist() == [5, 6, 7, 8]


@pytest.mark.skipif(not os.path.isfile(os.path.join(os.environ.get("TINYAE_DATA") or "/nonexistent",
                                                    "mnist", "t10k-labels-idx1-ubyte.gz")),
                    reason="full MNIST not found (set TINYAE_DATA)")
def test_a_local_file_of_the_genuine_size_must_have_the_genuine_md5(tmp_path, monkeypatch):
    import shutil
    from tinyae.data import load_mnist, mnist as mnist_mod
    real = os.path.join(os.environ["TINYAE_DATA"], "mnist")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(os.path.join(real, name), tmp_path / name)
    calls = []
    monkeypatch.setattr(mnist_mod, "_verified", {})
    real_md5 = mnist_mod.hashlib.md5
    monkeypatch.setattr(mnist_mod.hashlib, "md5", lambda *a: calls.append(1) or real_md5(*a))
    assert load_mnist("test", root=tmp_path, download=False)[0].shape == (10000, 784)
    load_mnist("test", root=tmp_path, download=False)
    assert len(calls) == 2  # each file checked once, not on every load
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    damaged = bytearray(labels.read_bytes())
    damaged[-100] ^= 0xFF  # one flipped byte, the same size
    labels.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is damaged: it has the size of "
                                         "the genuine .* but not its md5.*delete it"):
        load_mnist("test", root=tmp_path, download=False)


@pytest.mark.parametrize("damage", ["truncated", "wrong counts", "bad labels"])
def test_a_damaged_embedded_subset_says_reinstall(tmp_path, monkeypatch, damage):
    from tinyae.data import load_mnist, mnist as mnist_mod
    path = tmp_path / "mnist_subset.npz"
    with np.load(mnist_mod._SUBSET_PATH) as z:
        arrays = {k: z[k] for k in z.files}
    if damage == "truncated":
        path.write_bytes(open(mnist_mod._SUBSET_PATH, "rb").read()[:5000])
    else:
        if damage == "wrong counts":
            arrays["x_test"] = arrays["x_test"][:10]
        else:
            arrays["y_train"] = arrays["y_train"] + 10
        np.savez(path, **arrays)
    monkeypatch.setattr(mnist_mod, "_SUBSET_PATH", str(path))
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mnist_mod._embedded.cache_clear()
    try:
        with pytest.raises(ValueError, match=f"the embedded subset at {path} is damaged.*reinstall tinyae"):
            load_mnist("train", root=tmp_path / "none", download=False, fallback="embedded")
    finally:
        mnist_mod._embedded.cache_clear()


# --- siblings found beyond the examples ----------------------------------------------------
def test_a_weight_named_like_a_savez_keyword_is_saved_and_loaded(tmp_path):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.allow_pickle = nn.Parameter(np.array([1.0, 2.0], "float32"))  # savez swallowed it
            self.file = nn.Parameter(np.array([3.0], "float32"))                 # savez refused it
    model = Odd()
    model.save(tmp_path / "odd.npz")
    again = Odd()
    again.allow_pickle.data[:] = 0
    again.file.data[:] = 0
    again.load(tmp_path / "odd.npz")
    assert again.allow_pickle.data.tolist() == [1.0, 2.0] and again.file.data.tolist() == [3.0]


def test_optimizers_refuse_infinite_hyperparameters():
    p = [nn.Parameter(np.zeros(2, "float32"))]
    with pytest.raises(ValueError, match="invalid lr=inf: it must be a finite number"):
        optim.Adam(p, lr=float("inf"))
    with pytest.raises(ValueError, match="invalid momentum=inf"):
        optim.SGD(p, lr=0.1, momentum=float("inf"))


class BadBackward(tinyae.Function):
    def forward(self, x):
        return x * 2

    def backward(self, ybar):
        return ybar @ Tensor(np.ones((5, 5)))  # a bug inside a backward formula


def test_an_error_inside_a_backward_names_the_op():
    with pytest.raises(ValueError) as info:
        BadBackward.apply(leaf(np.ones(3))).sum().backward()
    assert "in the backward pass of BadBackward (input shapes (3,); ybar (3,))" in info.value.__notes__


def test_resume_from_a_damaged_checkpoint_is_a_resume_error(tmp_path):
    import tinyae.train as train
    from tinyae.data import DataLoader
    (tmp_path / train.CHECKPOINT_NAME).write_bytes(b"not a zip at all")
    model = nn.Sequential(nn.Linear(2, 2))
    loader = DataLoader(np.zeros((4, 2), "float32"), batch_size=2)
    with pytest.raises(train.ResumeError, match="damaged or not a checkpoint.*delete it"):
        train.fit(model, optim.SGD(model.parameters(), lr=0.1), loader, 1,
                  loss_fn=lambda m, x: tinyae.losses.mse(m(x), x), checkpoint_dir=tmp_path,
                  resume=True, verbose=False, progress=False)


def test_lesson_options_must_be_positive():
    import argparse
    from tinyae.lesson import positive
    assert positive(int)("3") == 3
    for bad in ("0", "-2", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive(float)(bad)


def test_register_buffer_and_to_copy_the_callers_array():
    a = np.zeros(3, "float32")
    layer = nn.Module()
    layer.register_buffer("running", a)
    layer.running.data += 1
    assert a.tolist() == [0, 0, 0]
    t = Tensor(np.zeros(2, "float32"))
    assert t.to("cpu") is t                # already there: the tensor itself, as in PyTorch
    t.to("float64").data += 1              # a real change is a new tensor
    assert t.data.tolist() == [0, 0]


def test_a_killed_download_leaves_a_part_file_that_the_next_download_removes(tmp_path):
    from tinyae.io import remove_stale_temporaries
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    part = tmp_path / f"t10k-labels-idx1-ubyte.gz.{dead.pid}.abcdefgh.part"
    part.write_bytes(b"half")
    assert remove_stale_temporaries(tmp_path / "t10k-labels-idx1-ubyte.gz", suffix=".part") == [part.name]


def test_iterating_and_membership_of_tensors():
    with pytest.raises(TypeError, match="0-d tensor.*item"):
        list(Tensor(np.array(5.0)))
    rows = list(Tensor(np.arange(6.0).reshape(3, 2)))
    assert len(rows) == 3 and rows[1].data.tolist() == [2.0, 3.0]
    t = Tensor(np.array([1.0, 2.0]))
    assert 2.0 in t and 3.0 not in t


def test_a_nan_prediction_reaches_the_loss_instead_of_a_misleading_range_error():
    loss = tinyae.losses.bce(Tensor(np.array([np.nan, 0.5])), np.array([0.0, 1.0]))
    assert np.isnan(loss.item())


def test_cli_resume_with_another_model_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    from tinyae import cli
    import tinyae.train as train

    def refuse(*args, **kwargs):
        raise train.ResumeError("cannot resume from X: it was written for a different model")
    monkeypatch.setattr(cli, "_load_data", lambda *a, **k: (np.zeros((4, 784), "float32"),) * 2)
    monkeypatch.setattr(train, "fit", refuse)
    code, err = _cli(["train", "shallow", "--resume", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.strip().endswith("written for a different model")
    assert len(err.strip().splitlines()) == 1


def test_a_one_element_tensor_formats_like_a_number():
    assert f"{Tensor(np.array(1.23456)):.3f}" == "1.235"
    assert f"{Tensor(np.array([0.5], 'float32')):.2e}" == "5.00e-01"
    assert f"{Tensor(np.array([1.0, 2.0]))}".startswith("tensor(")


def test_an_error_signal_has_its_inputs_dtype():
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)        # float32
    (x * np.array([1.0, 2.0])).sum().backward()              # met by a float64 array
    assert x.grad.dtype == np.float32 and x.grad.data.tolist() == [1.0, 2.0]
    g, = tinyae.grad((x * np.array([3.0, 3.0])).sum(), [x], create_graph=True)
    assert g.dtype == np.float32
