"""Result images (the reference's tensor2im) and the training / results HTML pages."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from cyclegan_lib.pipeline.pages import ResultsPage, TrainingPage, tensor_to_image


def test_tensor_to_image_scales_like_the_reference():
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0]).view(1, 1, 2, 2).expand(2, 3, 2, 2)
    image = tensor_to_image(x)
    assert image.dtype == np.uint8 and image.shape == (2, 2, 3)
    # (x + 1) / 2 * 255, truncated: -1 -> 0, 0 -> 127 (127.5), 0.5 -> 191 (191.25), 1 -> 255
    assert image[..., 0].tolist() == [[0, 127], [191, 255]]


def test_grayscale_is_repeated_to_three_channels_and_out_of_range_clipped():
    gray = torch.tensor([[[[-2.0, 0.2]]]])
    image = tensor_to_image(gray)
    assert image.shape == (1, 2, 3)
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    assert image[0, :, 0].tolist() == [0, 153]


def test_results_page_names_files_stem_label(tmp_path):
    page = ResultsPage(tmp_path / "test_latest", "Experiment = x", width=64)
    visuals = {"real": torch.zeros(1, 3, 8, 8), "fake": torch.ones(1, 1, 8, 8)}
    page.add("n02381460_1000", visuals)
    index = page.write()
    images = tmp_path / "test_latest" / "images"
    assert sorted(p.name for p in images.iterdir()) == [
        "n02381460_1000_fake.png",
        "n02381460_1000_real.png",
    ]
    assert np.asarray(Image.open(images / "n02381460_1000_fake.png")).tolist()[0][0] == [
        255,
        255,
        255,
    ]
    html = index.read_text()
    assert 'src="images/n02381460_1000_real.png"' in html and "Experiment = x" in html


def test_results_page_aspect_ratio_stretches_the_width(tmp_path):
    page = ResultsPage(tmp_path, "t", aspect_ratio=2.0)
    page.add("a", {"fake": torch.zeros(1, 3, 8, 8)})
    assert Image.open(tmp_path / "images" / "a_fake.png").size == (16, 8)


def test_training_page_lists_epochs_newest_first(tmp_path):
    page = TrainingPage(tmp_path / "web", "demo")
    visuals = {"real_A": torch.zeros(1, 3, 4, 4), "fake_B": torch.zeros(1, 3, 4, 4)}
    page.update(1, visuals)
    index = page.update(2, visuals)
    html = index.read_text()
    assert (tmp_path / "web" / "images" / "epoch002_fake_B.png").exists()
    assert html.index("epoch [2]") < html.index("epoch [1]")
    assert "images/epoch001_real_A.png" in html and "Experiment name = demo" in html
