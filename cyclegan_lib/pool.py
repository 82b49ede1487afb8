"""The image history buffer of CycleGAN (Zhu et al. 2017, Sec. 4; Shrivastava et al. 2017).

The discriminators are updated with a mix of the newest generated images and
older ones from a buffer of ``pool_size`` (50) images, so D does not chase only
the generator's latest output, which reduces oscillation.

Unlike the reference, which draws from Python's unseeded ``random``, the pool
draws from its own ``torch.Generator``: the same seed gives the same choices,
and :meth:`ImagePool.state_dict` saves that generator for an exact resume.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """A buffer of past generated images, queried once per D update.

    For each image of the batch: while the buffer has room, store it and return
    it; once full, with probability 1/2 return a random stored image and put the
    new one in its place, otherwise return the new image. ``pool_size=0``
    returns the batch unchanged (pix2pix's default).
    """

    def __init__(self, pool_size: int = 50, generator: torch.Generator | None = None) -> None:
        if pool_size < 0:
            raise ValueError(f"--pool_size must be >= 0, got {pool_size}")
        self.pool_size = pool_size
        if generator is None:  # follow torch's global seed, so seed_everything() still decides
            seed = int(torch.randint(2**62, (1,)).item())
            generator = torch.Generator().manual_seed(seed)
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: new images mixed with stored ones (detached)."""
        if self.pool_size == 0:
            return images
        chosen = [self._exchange(image.detach()) for image in images]
        return torch.stack(chosen)

    def _exchange(self, image: torch.Tensor) -> torch.Tensor:
        """Store ``image`` and/or return it or an older one, following the rule above."""
        if len(self.images) < self.pool_size:
            self.images.append(image.clone())
            return image
        if torch.rand((), generator=self.generator).item() < 0.5:
            return image
        slot = int(torch.randint(self.pool_size, (), generator=self.generator).item())
        old = self.images[slot]
        self.images[slot] = image.clone()
        return old.to(device=image.device, dtype=image.dtype)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: size, stored images and RNG state."""
        return {
            "pool_size": self.pool_size,
            "images": [image.cpu() for image in self.images],
            "generator_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; images move to the device of later queries."""
        if state["pool_size"] != self.pool_size:
            raise ValueError(
                f"the checkpoint's image pool holds {state['pool_size']} images, "
                f"but --pool_size is {self.pool_size}"
            )
        self.images = [image.clone() for image in state["images"]]
        self.generator.set_state(state["generator_state"])
