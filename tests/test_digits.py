import numpy as np
import pytest
import torch

from cyclegan_lib.course import digits
from cyclegan_lib.pipeline.pages import to_uint8


def test_embedded_mnist_is_complete():
    images, labels = digits.load_embedded_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10


def test_split_is_stratified_disjoint_and_fixed():
    split = digits.split_indices()
    assert len(split["train"]) == 4000 and len(split["test"]) == 1000
    assert not set(split["train"]) & set(split["test"])
    _, labels = digits.load_embedded_mnist()
    assert np.bincount(labels[split["test"]]).tolist() == [100] * 10
    digits.split_indices.cache_clear()
    assert np.array_equal(digits.split_indices()["test"], split["test"])
    # shuffled: the first 100 training digits already cover every class
    assert len(set(labels[split["train"][:100]])) == 10


@pytest.mark.parametrize("domain,channels", [("clean", 1), ("color", 3)])
def test_domains_shape_and_range(domain, channels):
    x, y = digits.load_domain(domain, "test")
    assert x.shape == (1000, channels, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert y.dtype == torch.int64


def test_color_domain_is_deterministic_and_seed_dependent():
    raw, _ = digits.raw_digits("test")
    a = digits.blend_with_photos(raw[:20], seed=3)
    assert np.array_equal(a, digits.blend_with_photos(raw[:20], seed=3))
    assert not np.array_equal(a, digits.blend_with_photos(raw[:20], seed=4))


def test_blend_is_absolute_difference():
    digit = np.zeros((1, 32, 32), np.uint8)
    digit[0, 10:20, 10:20] = 255
    out = digits.blend_with_photos(digit, seed=0).astype(int)
    background, stroke = out[0, 0, 0], out[0, 15, 15]
    # the stroke shows the inverted photo: in a stroke pixel, value = 255 - photo
    assert out.shape == (1, 32, 32, 3)
    assert (stroke <= 255).all() and not np.array_equal(background, stroke)


def test_paired_view_shows_same_digits():
    paired = digits.paired_digits("test")
    clean, labels = digits.load_domain("clean", "test")
    assert torch.equal(paired.clean, clean) and torch.equal(paired.labels, labels)
    # the colour image is |photo - digit|: where the digit is white, colour != background photo
    assert paired.color.shape == (1000, 3, 32, 32)


def test_unpaired_view_uses_disjoint_halves():
    unpaired = digits.unpaired_digits("train")
    assert len(unpaired.clean) == len(unpaired.color) == 2000
    assert unpaired.clean_labels.bincount().tolist() == [200] * 10
    assert unpaired.color_labels.bincount().tolist() == [200] * 10
    # map every colour image back to its source digit through the paired view
    paired = digits.paired_digits("train")
    key = [bytes(img) for img in to_uint8(paired.color)]
    source_of = dict(zip(key, (bytes(img) for img in to_uint8(paired.clean)), strict=True))
    color_sources = {source_of[bytes(img)] for img in to_uint8(unpaired.color)}
    clean_digits = {bytes(img) for img in to_uint8(unpaired.clean)}
    assert not clean_digits & color_sources


def test_uint8_round_trip():
    x, _ = digits.load_domain("color", "test")
    pixels = to_uint8(x[:10])
    assert torch.equal(digits.to_tensor(pixels), x[:10])
    assert np.array_equal(to_uint8(digits.to_tensor(pixels)), pixels)  # bytes back exactly
    # the reference's truncation would not give them back: float error makes some k.999...
    assert not np.array_equal(to_uint8(digits.to_tensor(pixels), truncate=True), pixels)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="'valid'"):
        digits.load_domain("clean", "valid")
    with pytest.raises(ValueError, match="'sketch'"):
        digits.load_domain("sketch")


def test_full_mnist_without_network_says_so(monkeypatch, tmp_path):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(digits.DataUnavailableError, match="embedded 5,000 digits"):
        digits.load_full_mnist(tmp_path)


def test_thicken_grows_every_stroke_by_one_pixel():
    dot = np.zeros((1, 5, 5), np.uint8)
    dot[0, 2, 2] = 200
    bold = digits.thicken(dot)
    assert bold[0, 1:4, 1:4].tolist() == [[200] * 3] * 3 and bold.sum() == 9 * 200
    edge = np.zeros((1, 4, 4), np.uint8)
    edge[0, 0, 0] = 9
    assert np.argwhere(digits.thicken(edge)[0]).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_bold_digits_share_the_photos_of_the_colour_digits():
    color, bold = digits.color_images("test")[:50], digits.bold_color_images("test")[:50]
    background = digits.bold_background("test")[:50, 0].numpy()
    assert np.array_equal(color[background], bold[background])  # the same photo pixels
    assert not np.array_equal(color, bold)  # and other strokes
    assert 0.3 < background.mean() < 0.95


def test_bold_pair_has_two_colour_domains_from_disjoint_halves():
    bold, unpaired = digits.unpaired_bold("train"), digits.unpaired_digits("train")
    assert bold.x.shape == bold.y.shape == (2000, 3, 32, 32)
    assert torch.equal(bold.x_labels, unpaired.clean_labels)
    assert torch.equal(bold.y_labels, unpaired.color_labels)
    first = digits.first_halves(digits.paired_digits("train").labels)
    assert torch.equal(bold.x, digits.load_domain("color", "train")[0][first])
    assert torch.equal(bold.y, digits.to_tensor(digits.bold_color_images("train"))[~first])
