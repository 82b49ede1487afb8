"""The reference's dataset modes on small fake folders: layout, items, determinism, loaders."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_lib.pipeline.datasets import (
    AlignedDataset,
    DataOptions,
    DatasetError,
    SingleDataset,
    SkipFirst,
    UnalignedDataset,
    create_dataset,
    epoch_loader,
    find_images,
)
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

SMALL = dict(load_size=40, crop_size=32)


@pytest.fixture(scope="module")
def unaligned_root(tmp_path_factory) -> Path:
    root = make_image_folder_dataset(tmp_path_factory.mktemp("unaligned"), n=6, size=48)
    for extra in range(6, 9):  # domain B larger than A: length is the larger domain
        Image.new("RGB", (48, 48), (extra * 20, 0, 0)).save(root / "trainB" / f"{extra:04d}.png")
    return root


@pytest.fixture(scope="module")
def aligned_root(tmp_path_factory) -> Path:
    return make_image_folder_dataset(
        tmp_path_factory.mktemp("aligned"), n=5, size=48, layout="aligned"
    )


def test_fake_dataset_layouts(tmp_path):
    make_image_folder_dataset(tmp_path / "u", n=3, size=16)
    make_image_folder_dataset(tmp_path / "a", n=3, size=16, layout="aligned", phases=("train",))
    make_image_folder_dataset(tmp_path / "s", n=3, size=16, layout="single")
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == [
        "testA",
        "testB",
        "trainA",
        "trainB",
    ]
    assert Image.open(tmp_path / "a" / "train" / "0000.png").size == (32, 16)
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "0000.png",
        "0001.png",
        "0002.png",
    ]
    with pytest.raises(ValueError, match="layout 'paired' is unknown"):
        make_image_folder_dataset(tmp_path / "x", layout="paired")


def test_unaligned_items(unaligned_root):
    dataset = create_dataset(DataOptions(unaligned_root, **SMALL))
    assert isinstance(dataset, UnalignedDataset)
    assert (len(dataset.A_paths), len(dataset.B_paths), len(dataset)) == (6, 9, 9)
    item = dataset[7]
    assert set(item) == {"A", "B", "A_paths", "B_paths"}
    assert item["A_paths"].endswith("trainA/0001.png")  # index 7 wraps around A's 6 images
    for key in "AB":
        assert item[key].shape == (3, 32, 32) and item[key].dtype == torch.float32
        assert -1 <= item[key].min() and item[key].max() <= 1


def test_unaligned_partner_is_random_unless_serial(unaligned_root):
    random_partners = create_dataset(DataOptions(unaligned_root, **SMALL))
    partners = {random_partners[i]["B_paths"] for i in range(9)}
    assert len(partners) > 3
    serial = create_dataset(DataOptions(unaligned_root, serial_batches=True, **SMALL))
    assert [Path(serial[i]["B_paths"]).name for i in range(9)] == [f"{i:04d}.png" for i in range(9)]


def test_items_depend_only_on_seed_epoch_and_index(unaligned_root):
    first, second = (create_dataset(DataOptions(unaligned_root, seed=3, **SMALL)) for _ in range(2))
    for index in (4, 0, 8):  # any order
        a, b = first[index], second[index]
        assert (
            a["B_paths"] == b["B_paths"]
            and torch.equal(a["A"], b["A"])
            and torch.equal(a["B"], b["B"])
        )
    before = first[2]["A"]
    first.set_epoch(1)
    assert not torch.equal(first[2]["A"], before)  # another epoch, other crops
    other_seed = create_dataset(DataOptions(unaligned_root, seed=4, **SMALL))
    assert not torch.equal(other_seed[2]["A"], before)


def test_aligned_splits_halves_and_shares_crop_and_flip(tmp_path):
    rng = np.random.default_rng(0)
    half = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    (tmp_path / "train").mkdir()
    Image.fromarray(np.concatenate([half, 255 - half], axis=1)).save(
        tmp_path / "train" / "pair.png"
    )
    dataset = create_dataset(DataOptions(tmp_path, "aligned", preprocess="crop", crop_size=24))
    assert isinstance(dataset, AlignedDataset)
    seen = set()
    for epoch in range(12):  # many random crops and flips: B stays the negative of A
        dataset.set_epoch(epoch)
        item = dataset[0]
        assert torch.allclose(item["B"], -item["A"], atol=1e-6)
        seen.add(float(item["A"].sum()))
    assert len(seen) > 6
    assert item["A_paths"] == item["B_paths"] == str(tmp_path / "train" / "pair.png")


def test_aligned_without_preprocessing_returns_the_halves(aligned_root):
    dataset = create_dataset(DataOptions(aligned_root, "aligned", preprocess="none", no_flip=True))
    pair = np.array(Image.open(aligned_root / "train" / "0002.png"))
    item = dataset[2]
    assert torch.equal(item["A"], torch.from_numpy(pair[:, :48]).permute(2, 0, 1) / 127.5 - 1)
    assert torch.equal(item["B"], torch.from_numpy(pair[:, 48:]).permute(2, 0, 1) / 127.5 - 1)


@pytest.mark.parametrize("direction, channels", [("AtoB", (1, 3)), ("BtoA", (3, 1))])
def test_channels_follow_the_direction(aligned_root, unaligned_root, direction, channels):
    for root, mode in ((aligned_root, "aligned"), (unaligned_root, "unaligned")):
        options = DataOptions(root, mode, direction=direction, input_nc=1, output_nc=3, **SMALL)
        item = create_dataset(options)[0]
        assert (item["A"].shape[0], item["B"].shape[0]) == channels


def test_single_mode_folders(tmp_path):
    make_image_folder_dataset(tmp_path / "flat", n=3, size=16, layout="single")
    make_image_folder_dataset(tmp_path / "pairs", n=2, size=16)  # trainA/B, testA/B
    flat = create_dataset(DataOptions(tmp_path / "flat", "single", **SMALL))
    assert isinstance(flat, SingleDataset) and len(flat) == 3
    assert set(flat[1]) == {"A", "A_paths"} and flat[1]["A"].shape == (3, 32, 32)
    test_a = create_dataset(DataOptions(tmp_path / "pairs", "single", phase="test"))
    assert test_a.folder == tmp_path / "pairs" / "testA"
    test_b = create_dataset(
        DataOptions(tmp_path / "pairs", "single", phase="test", direction="BtoA")
    )
    assert test_b.folder == tmp_path / "pairs" / "testB"
    gray = create_dataset(DataOptions(tmp_path / "flat", "single", input_nc=1, **SMALL))
    assert gray[0]["A"].shape == (1, 32, 32)


def test_file_list_is_sorted_recursive_case_insensitive_and_capped(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.PNG", "a.jpg", "sub/c.JPEG", "d.Tif", "notes.txt", "e.gif", ".DS_Store"):
        Image.new("RGB", (8, 8)).save(tmp_path / name, format="PNG")
    found = [Path(p).relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a.jpg", "b.PNG", "d.Tif", "sub/c.JPEG"]
    assert [Path(p).name for p in find_images(tmp_path, max_dataset_size=2)] == ["a.jpg", "b.PNG"]


def test_create_dataset_accepts_any_options_object(unaligned_root):
    cli_like = SimpleNamespace(
        dataroot=str(unaligned_root),
        dataset_mode="unaligned",
        phase="test",
        load_size=40,
        crop_size=32,
        max_dataset_size=float("inf"),
        name="not a data option",
    )
    dataset = create_dataset(cli_like)
    assert dataset.options.phase == "test" and len(dataset) == 6


def paths_of(loader) -> list[str]:
    return [path for batch in loader for path in batch["A_paths"]]


def test_loader_order_depends_only_on_seed_and_epoch(unaligned_root):
    def epoch_paths(epoch: int, seed: int = 7) -> list[str]:
        dataset = create_dataset(DataOptions(unaligned_root, **SMALL))
        return paths_of(epoch_loader(dataset, epoch, batch_size=4, seed=seed))

    assert epoch_paths(1) == epoch_paths(1)
    assert epoch_paths(1) != epoch_paths(2)
    assert epoch_paths(1) != epoch_paths(1, seed=8)
    assert sorted(epoch_paths(3)) != epoch_paths(3) and len(epoch_paths(3)) == 9


def test_serial_batches_keep_the_folder_order(unaligned_root):
    dataset = create_dataset(DataOptions(unaligned_root, serial_batches=True, **SMALL))
    paths = paths_of(epoch_loader(dataset, 4, batch_size=2, shuffle=False))
    assert paths == [dataset.A_paths[i % 6] for i in range(9)]  # the last, short batch kept


def test_skipping_batches_gives_the_rest_of_the_epoch_exactly(unaligned_root):
    """A resumed run: a fresh loader skipping k batches gives the batches k, k+1... of before."""

    def batches(skip: int = 0, num_workers: int = 0) -> list:
        options = DataOptions(unaligned_root, seed=5, **SMALL)
        loader = epoch_loader(
            create_dataset(options),
            2,
            batch_size=3,
            seed=5,
            skip_batches=skip,
            num_workers=num_workers,
        )
        return [(batch["A"], batch["B"], batch["B_paths"]) for batch in loader]

    whole = batches()
    assert len(whole) == 3 and len(batches(skip=1)) == 2 and batches(skip=3) == []
    for (a1, b1, p1), (a2, b2, p2) in zip(whole[1:], batches(1, num_workers=2), strict=True):
        assert torch.equal(a1, a2) and torch.equal(b1, b2) and p1 == p2


def test_skip_first_drops_the_first_indices_and_counts_the_rest():
    sampler = SkipFirst(range(10), 4)  # any sequence of indices works as a sampler
    assert list(sampler) == [4, 5, 6, 7, 8, 9] and len(sampler) == 6
    assert list(SkipFirst(range(3), 5)) == [] and len(SkipFirst(range(3), 5)) == 0


def test_the_loader_owns_its_generator_seeded_seed_plus_epoch(unaligned_root):
    dataset = create_dataset(DataOptions(unaligned_root, **SMALL))
    loader = epoch_loader(dataset, 3, seed=7)
    assert torch.equal(loader.generator.get_state(), torch.Generator().manual_seed(10).get_state())
    assert dataset.epoch == 3  # items draw their crops and partners for this epoch


def test_two_ranks_split_the_dataset(unaligned_root):
    dataset = create_dataset(DataOptions(unaligned_root, serial_batches=True, **SMALL))
    ranks = [
        epoch_loader(dataset, 1, batch_size=2, shuffle=False, rank=rank, world_size=2)
        for rank in range(2)
    ]
    paths = [paths_of(loader) for loader in ranks]
    assert len(paths[0]) == len(paths[1]) == 5  # 9 items padded to 10, as DistributedSampler does
    assert set(paths[0]) | set(paths[1]) == set(dataset.A_paths)


def test_loading_draws_nothing_from_the_global_rng(unaligned_root):
    """Data randomness is all per item, so dropout and pools see the same global RNG on resume."""
    loader = epoch_loader(create_dataset(DataOptions(unaligned_root, **SMALL)), 1, batch_size=4)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    list(loader)
    assert torch.equal(torch.rand(3), expected)


def test_colorization_items_are_lightness_and_colour_of_the_image(tmp_path):
    (tmp_path / "train").mkdir()
    Image.new("RGB", (16, 16), (255, 0, 0)).save(tmp_path / "train" / "red.png")
    options = DataOptions(
        tmp_path, "colorization", input_nc=1, output_nc=2, load_size=16, crop_size=16
    )
    item = create_dataset(options)[0]
    assert item["A"].shape == (1, 16, 16) and item["B"].shape == (2, 16, 16)
    # pure red is L 53.24, a 80.09, b 67.20; scaled as the reference: L/50 - 1, ab/110
    assert torch.allclose(item["A"], torch.full((1, 16, 16), 53.2408 / 50 - 1), atol=1e-3)
    expected_ab = torch.tensor([80.0925, 67.2032]).view(2, 1, 1) / 110
    assert torch.allclose(item["B"], expected_ab.expand(2, 16, 16), atol=1e-3)


def test_colorization_needs_one_and_two_channels(tmp_path):
    with pytest.raises(DatasetError, match="--output_nc 3"):
        DataOptions(tmp_path, "colorization", input_nc=1, output_nc=3)
