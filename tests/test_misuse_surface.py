"""Misuse of checkpoints, the command line, layers and data files (and siblings found beside
them): the right answer or an error that says what to do — never a silent wrong one (issue 7)."""
import os

import numpy as np
import pytest

import tinyae
from tinyae import Tensor, nn, optim


def leaf(data, dtype="float64"):
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


# --- checkpoints: nothing lost, nothing half-done ----------------------------------------------------
def _two_layers():
    return nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)),
                         nn.Linear(2, 1, rng=np.random.default_rng(1)))


def test_load_checks_every_entry_before_copying_any(tmp_path):
    model = _two_layers()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
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
    before = {k: v.numpy().copy() for k, v in other.state_dict().items()}
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
