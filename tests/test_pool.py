"""The image history pool: fill-up, the 50 % exchange rule, determinism, checkpointing."""

import io

import pytest
import torch

from cyclegan_lib.pool import ImagePool


def numbered(start: int, count: int) -> torch.Tensor:
    """``count`` 1x2x2 images whose every pixel holds its number, starting at ``start``."""
    return (
        torch.arange(start, start + count, dtype=torch.float32)
        .view(-1, 1, 1, 1)
        .expand(-1, 1, 2, 2)
    )


def ids(batch: torch.Tensor) -> list[int]:
    return [int(image[0, 0, 0]) for image in batch]


def test_passthrough_when_size_zero():
    pool = ImagePool(0)
    batch = torch.randn(4, 3, 8, 8, requires_grad=True)
    assert pool.query(batch) is batch
    assert len(pool) == 0


def test_fills_then_returns_new_images_until_full():
    pool = ImagePool(5, torch.Generator().manual_seed(0))
    assert ids(pool.query(numbered(0, 3))) == [0, 1, 2]
    assert ids(pool.query(numbered(3, 2))) == [3, 4]
    assert len(pool) == 5


def test_once_full_about_half_are_old_and_are_exchanged():
    pool = ImagePool(50, torch.Generator().manual_seed(1))
    pool.query(numbered(0, 50))
    old = total = 0
    for step in range(200):
        start = 1000 + 4 * step
        out = ids(pool.query(numbered(start, 4)))
        old += sum(i < start for i in out)
        total += 4
    assert 0.45 < old / total < 0.55
    assert len(pool) == 50
    stored = {int(image[0, 0, 0]) for image in pool.images}
    assert len(stored) == 50 and max(stored) >= 1000  # new images replaced old ones


def test_returned_old_image_is_replaced_by_new_one():
    pool = ImagePool(2, torch.Generator().manual_seed(3))
    pool.query(numbered(0, 2))
    for step in range(20):
        new = 10 + step
        before = sorted(ids(torch.stack(pool.images)))
        out = ids(pool.query(numbered(new, 1)))[0]
        after = sorted(ids(torch.stack(pool.images)))
        if out == new:
            assert after == before
        else:
            assert out in before and new in after and out not in after


def test_output_is_detached_and_batch_shaped():
    pool = ImagePool(3, torch.Generator().manual_seed(0))
    fake = torch.randn(5, 3, 4, 4, requires_grad=True) * 2
    out = pool.query(fake)
    assert out.shape == fake.shape
    assert not out.requires_grad


def run(pool: ImagePool, steps: int) -> list[list[int]]:
    return [ids(pool.query(numbered(100 * (step + 1), 3))) for step in range(steps)]


def test_same_seed_same_choices():
    first = run(ImagePool(4, torch.Generator().manual_seed(7)), 30)
    second = run(ImagePool(4, torch.Generator().manual_seed(7)), 30)
    other = run(ImagePool(4, torch.Generator().manual_seed(8)), 30)
    assert first == second
    assert first != other


def test_default_generator_follows_torch_seed():
    torch.manual_seed(5)
    first = run(ImagePool(4), 20)
    torch.manual_seed(5)
    assert run(ImagePool(4), 20) == first


def test_state_dict_round_trip_resumes_exactly():
    reference = ImagePool(4, torch.Generator().manual_seed(11))
    expected = run(reference, 30)

    pool = ImagePool(4, torch.Generator().manual_seed(11))
    head = run(pool, 12)
    buffer = io.BytesIO()
    torch.save(pool.state_dict(), buffer)
    buffer.seek(0)
    resumed = ImagePool(4, torch.Generator().manual_seed(999))
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    tail = [ids(resumed.query(numbered(100 * (step + 1), 3))) for step in range(12, 30)]
    assert head + tail == expected


def test_size_mismatch_on_load_is_explained():
    state = ImagePool(4).state_dict()
    with pytest.raises(ValueError, match="--pool_size is 50"):
        ImagePool(50).load_state_dict(state)


def test_negative_size_rejected():
    with pytest.raises(ValueError, match="--pool_size"):
        ImagePool(-1)
