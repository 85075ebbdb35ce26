"""What used to be silently wrong or obscure: weights that hold NaN, checkpoint keys, the wrong
kind of file, .data replaced between forward and backward, a NaN gradient reaching the
optimizer, empty batches, bool inputs, unbatched attention, generators as data."""
import numpy as np
import pytest

import tinyae
from tinyae import nn, optim
from tinyae.data import DataLoader
from tinyae.io import save_npz_atomic
from tinyae.models import VAE
from tinyae.train import fit, load_checkpoint, save_checkpoint


def test_loading_weights_that_hold_nan_is_refused(tmp_path):
    model = nn.Linear(3, 2)
    state = model.state_dict()
    state["weight"] = np.full_like(state["weight"], np.nan)
    save_npz_atomic(tmp_path / "diverged.npz", state)
    before = model.weight.data.copy()
    with pytest.raises(ValueError, match="'weight' holds 6 NaN or Inf value.*diverged"):
        model.load(tmp_path / "diverged.npz")
    np.testing.assert_array_equal(model.weight.data, before)  # nothing changed


def test_checkpoint_keys_come_back_with_their_type(tmp_path):
    save_checkpoint(tmp_path / "c.npz", {1: np.ones(2), "a": {2: 3, "b": [4, {5: "x"}]}})
    state, _ = load_checkpoint(tmp_path / "c.npz")
    assert set(state) == {1, "a"} and state["a"][2] == 3 and state["a"]["b"][1] == {5: "x"}
    with pytest.raises(ValueError, match="keys must be"):
        save_checkpoint(tmp_path / "d.npz", {True: 1})


def test_each_kind_of_file_names_the_function_that_reads_it(tmp_path):
    model = nn.Linear(3, 2)
    model.save(tmp_path / "model.npz")
    save_checkpoint(tmp_path / "checkpoint.npz", {"model": model.state_dict()})
    with pytest.raises(ValueError, match="training checkpoint.*load_checkpoint"):
        model.load(tmp_path / "checkpoint.npz")
    with pytest.raises(ValueError, match="not a checkpoint.*model.load"):
        load_checkpoint(tmp_path / "model.npz")


def test_replacing_data_between_forward_and_backward_is_caught():
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    w = tinyae.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    x.data = np.array([10.0, 20.0], dtype="float32")
    with pytest.raises(RuntimeError, match=r"changed in place \(or its .data replaced\)"):
        y.backward()
    z = (x * w).sum()  # a graph built after the change is fine
    z.backward()
    np.testing.assert_allclose(w.grad.data, [10.0, 20.0])


class _NaNGradient(tinyae.Function):
    """y = x with a NaN error signal: the loss stays finite, the gradient does not."""
    def forward(self, x):
        return x.copy()

    def backward(self, ybar):
        return ybar * float("nan")


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(4, 2)
        self.decoder = nn.Linear(2, 4)

    def forward(self, x):
        return self.decoder(_NaNGradient.apply(self.encoder(x)))

    def loss(self, x):
        return ((self(x) - x) ** 2).mean()


def test_a_nan_gradient_stops_fit_before_the_update_and_names_the_parameter():
    model = _Model()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="gradient of parameter 'encoder.weight' has NaN.*"
                                                 "epoch 1, batch 1.*loss.*is finite"):
        fit(model, optim.SGD(model.parameters(), lr=0.1),
            DataLoader(np.ones((8, 4), "float32"), batch_size=4), 1, progress=False, verbose=False)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # no NaN written


def test_the_vae_loss_on_an_empty_batch_says_so():
    with pytest.raises(ValueError, match="the batch is empty"):
        VAE([4, 3], 2).loss(np.zeros((0, 4), "float32"))


def test_functions_with_real_values_take_bool_and_integer_tensors_as_pytorch_does():
    np.testing.assert_allclose(tinyae.tensor([True, False]).sigmoid().data, [0.7310586, 0.5])
    np.testing.assert_allclose(tinyae.functional.exp(tinyae.tensor([0, 1])).data, [1, np.e], rtol=1e-6)
    assert tinyae.tensor([1, 2]).softmax(0).dtype == np.float32
    assert nn.Sigmoid()(tinyae.tensor([True])).dtype == np.float32


def test_multihead_attention_takes_one_unbatched_sequence():
    tinyae.manual_seed(0)
    attention, x = nn.MultiheadAttention(8, 2), tinyae.randn(5, 8)
    np.testing.assert_allclose(attention(x).data, attention(x.unsqueeze(0)).data[0], rtol=1e-6)
    y, weights = attention(x, return_weights=True)
    assert y.shape == (5, 8) and weights.shape == (2, 5, 5)
    with pytest.raises(ValueError, match=r"expects tokens of shape \(N, T, 8\) or \(T, 8\), got \(5, 7\)"):
        attention(tinyae.randn(5, 7))


def test_a_generator_as_data_is_a_clear_error():
    with pytest.raises(TypeError, match="generator.*read only once.*numpy.array"):
        DataLoader((np.zeros(3) for _ in range(4)), batch_size=2)


# --- found by probing the surface -----------------------------------------------------------------
def test_a_tensor_holds_numbers_and_a_ragged_list_says_so():
    with pytest.raises(ValueError, match="rows differ in length"):
        tinyae.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="holds numbers"):
        tinyae.tensor(np.array(["a"]))
    assert tinyae.tensor([True]).dtype == np.bool_


def test_to_with_neither_a_device_nor_a_dtype_names_both():
    with pytest.raises(ValueError, match=r"x.to\('tpu'\): not a device .* nor a dtype"):
        tinyae.randn(2).to("tpu")
    assert tinyae.randn(2).to("float64").dtype == np.float64


def test_cat_and_stack_of_nothing_or_of_one_tensor():
    with pytest.raises(ValueError, match="cat needs at least one tensor"):
        tinyae.cat([])
    with pytest.raises(TypeError, match=r"a list of tensors, e.g. stack\(\[a, b\]\)"):
        tinyae.stack(tinyae.randn(2, 3))


def test_gradcheck_without_inputs_says_what_it_needs():
    with pytest.raises(TypeError, match="at least one input"):
        tinyae.gradcheck(lambda: tinyae.tensor(1.0), [])
