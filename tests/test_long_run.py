"""A long run keeps its memory and open files flat: nothing a run keeps grows with the iterations.

The history pool, the loss log (one line per iteration here), the HTML page and its visuals
(every 10 iterations) and the end-of-epoch checkpoints all run 200 times at a tiny size; after
the warm-up (the pool fills in its first 50 images) resident memory and the number of open file
descriptors must stay where they are.
"""

from __future__ import annotations

import os

import pytest
from test_resume import TINY

from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

WARM_UP_EPOCHS = 5
MAX_GROWTH_MIB = 2.0  # one leaked autograd graph per iteration would add tens of MiB


def resident_mib() -> float:
    pages = int(open("/proc/self/statm").read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampled(Trainer):
    """The trainer, noting resident memory and open descriptors after every epoch."""

    samples: list[tuple[float, int]]

    def end_epoch(self) -> None:
        super().end_epoch()
        self.samples.append((resident_mib(), len(os.listdir("/proc/self/fd"))))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc (Linux)")
def test_memory_and_open_files_stay_flat_over_200_iterations(tmp_path):
    data = make_image_folder_dataset(tmp_path / "data", n=10, size=24)
    argv = ["--dataroot", str(data), "--checkpoints_dir", str(tmp_path / "ck"), "--name", "run",
            *TINY, "--n_epochs", "20", "--n_epochs_decay", "0", "--pool_size", "50",
            "--update_html_freq", "10", "--save_latest_freq", "100000"]  # fmt: skip
    trainer = Sampled(parse_train_options(argv), show_progress=False)
    trainer.samples = []
    assert trainer.run().total_iters == 200
    (rss_start, files_start), (rss_end, files_end) = (
        trainer.samples[WARM_UP_EPOCHS - 1],
        trainer.samples[-1],
    )
    assert files_end == files_start, trainer.samples
    assert rss_end - rss_start < MAX_GROWTH_MIB, trainer.samples
    assert (tmp_path / "ck" / "run" / "loss_log.txt").read_text().count("(epoch:") == 200
    assert len(list((tmp_path / "ck" / "run" / "web" / "images").glob("*.png"))) > 20
