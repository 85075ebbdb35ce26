"""Drawings of the course's models that a projector can show (issue 30): every model of
tinyae.models folded per module fits a 1920 px wide slide, every box joined to its real inputs,
named as the slides name things; and what cannot be drawn says why."""
import inspect
import time

import numpy as np
import pytest

import tinyae
import tinyae.models as models
from tinyae import losses, nn, viz
from tinyae.nn.module import Module
from tinyae.trace import graph_nodes
from tinyae.viz_graph import bar

RNG = np.random.default_rng(0)
PIXELS = RNG.random((2, 784)).astype(np.float32)
IMAGES = PIXELS.reshape(2, 1, 28, 28)


def _unet_loss(model):
    return model.loss(np.concatenate([IMAGES, np.ones_like(IMAGES)], axis=1), IMAGES)


# Every model class of tinyae.models at the size its lesson uses, with its loss on two images
MODELS = {
    models.LinearAE: (lambda: models.LinearAE(784, 30, rng=0), lambda m: m.loss(PIXELS)),
    models.MLPAutoencoder: (lambda: models.MLPAutoencoder([784, 128, 64, 32], rng=0),
                            lambda m: m.loss(PIXELS)),
    models.ConvAutoencoder: (lambda: models.ConvAutoencoder(channels=(16, 32), latent=20, rng=0),
                             lambda m: m.loss(PIXELS)),
    models.VAE: (lambda: models.VAE([784, 400], latent=20, rng=0), lambda m: m.loss(PIXELS)),
    models.UNet: (lambda: models.UNet(2, 1, channels=(8, 16, 32), batchnorm=True, rng=0),
                  _unet_loss),
    models.MaskedAutoencoder: (lambda: models.MaskedAutoencoder(28, 4, 64, 2, 4, 32, 1, rng=0),
                               lambda m: m.loss(PIXELS)),
    models.Classifier: (lambda: models.Classifier(models.MLPAutoencoder([784, 64], rng=0).encoder,
                                                  rng=1),
                        lambda m: m.loss(PIXELS, np.array([3, 7]))),
    models.MAEClassifier: (lambda: models.MAEClassifier(
        models.MaskedAutoencoder(28, 4, 64, 2, 4, 32, 1, rng=0), rng=1),
        lambda m: m.loss(PIXELS, np.array([3, 7]))),
}


def test_every_model_class_of_tinyae_models_has_a_drawing_here():
    classes = {c for _, c in inspect.getmembers(models, inspect.isclass)
               if issubclass(c, Module) and c is not models.Autoencoder}
    assert classes == set(MODELS)


@pytest.mark.parametrize("cls", list(MODELS), ids=lambda c: c.__name__)
def test_each_model_drawn_folded_fits_a_slide_with_every_box_joined(cls):
    build, loss_of = MODELS[cls]
    model = build()
    loss = loss_of(model)
    fig = viz.draw_graph(loss, names=model, group=True)
    width, height = fig.get_size_inches() * 150  # pixels as saved (150 dpi)
    assert width <= 1920 and width / height >= 1.5  # a slide's width, about its shape
    boxes, arrows = fig.graph
    for box in boxes:  # every box but the leaves has the inputs it was computed from
        assert box.inputs or box.op in ("input", "const"), f"{box.name} has no input"
    drawn_arrows = [t for t in fig.axes[0].texts if type(t).__name__ == "Annotation"]
    assert len(drawn_arrows) == len(arrows)
    titles = [t.get_text().split("\n")[0] for t in fig.axes[0].texts
              if type(t).__name__ != "Annotation"]
    assert "x" in titles and "const" not in titles  # the data is named as forward names it
    loss.backward()  # drawing left the graph alone


def test_folded_conv_autoencoder_reads_like_its_layers():
    model = models.ConvAutoencoder(channels=(16, 32), latent=20, rng=0)
    nodes, edges = graph_nodes(model.loss(PIXELS), names=model, group=True, collapse=True)
    names = [n.name for n in nodes]
    assert names[:3] == ["x", "encoder.0", "encoder.1"] and names[-1] == "mse"
    by_name = {n.name: n for n in nodes}
    assert by_name["encoder.0"].op == "Conv2d" and by_name["encoder.0"].inputs == (0,)
    assert by_name["decoder.3"].op == "ConvTranspose2d"  # its Col2Im folded in, not an orphan
    assert by_name["encoder.0"].tensor.shape == (2, 16, 14, 14)  # the module's output


def test_repeated_blocks_are_one_box_with_a_count():
    model = models.MaskedAutoencoder(28, 4, 64, 3, 4, 32, 1, rng=0)
    nodes, _ = graph_nodes(model.loss(PIXELS), names=model, group=1)
    folded = {n.name: n.op for n in nodes}
    assert folded["blocks.0–2"] == "TransformerBlock ×3"
    assert folded["decoder_blocks.0"] == "TransformerBlock"
    assert "random_masking" in folded and "masked_mse" in folded  # functions, one box each


def test_a_run_needs_numbered_siblings_not_two_sequentials():
    model = models.ConvAutoencoder(channels=(16, 32), latent=20, rng=0)
    nodes, _ = graph_nodes(model.loss(PIXELS), names=model, group=1)
    assert [n.name for n in nodes if n.inputs][:2] == ["encoder", "decoder"]


def test_a_loss_that_calls_a_loss_is_one_box():
    net = nn.Linear(3, 2, rng=0).double()
    x = tinyae.Tensor(RNG.random((4, 3)), name="x")
    nodes, _ = graph_nodes(losses.sse(net(x), np.zeros((4, 2))), names=net, group=True)
    assert (nodes[-1].name, nodes[-1].op) == ("sse", "function")  # sse calls mse: one box
    assert [n.op for n in nodes] == ["const", "input", "input", "Linear", "function"]  # no Sub, Mean…


def test_modules_note_nothing_when_no_graph_is_recorded():
    net = nn.Linear(3, 2, rng=0)
    with tinyae.no_grad():
        y = net(np.ones((1, 3), np.float32))
    assert "_module_calls" not in y.__dict__
    assert len(net(np.ones((1, 3), np.float32))._module_calls) == 1


def test_a_long_chain_wraps_into_bands_a_slide_wide():
    x = tinyae.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(30):
        y = (y * 1.01).tanh()
    fig = viz.draw_graph(y.sum(), max_nodes=200)
    assert fig.get_size_inches()[0] * 150 <= 1920


def test_error_signals_of_numbered_modules_cannot_read_as_values():
    assert bar("0") == "(0)‾" and bar("z") == "z̄" and bar("encoder.0") == "(encoder.0)‾"
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Tanh()).double()
    loss = net(tinyae.Tensor(np.ones((1, 2)), name="x")).sum()
    texts = [t.get_text() for t in viz.draw_graph(loss, names=net, group=True, signals=True)
             .axes[0].texts]
    assert any("(0)‾ =" in t for t in texts) and not any("\n0 =" in t for t in texts)


def test_a_graph_too_big_to_draw_is_summarised_not_drawn():
    x = tinyae.Tensor(np.float64(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"200,001 tensors \(100,000 const, 100,000 Add, 1 input\)"):
        viz.draw_graph(y, group=True)
    assert time.perf_counter() - start < 60  # a summary, never a hang (generous: a busy CI)
