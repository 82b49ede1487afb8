"""``cyclegan train``: train CycleGAN or pix2pix on a folder of images (the reference's ``train.py``).

Examples::

    cyclegan train --dataroot ./datasets/horse2zebra --name horse2zebra_cyclegan --model cycle_gan
    cyclegan train --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA
    cyclegan train ... --continue_train                # resume exactly where the last save was
    cyclegan train ... --gpu_ids 0,1 --batch_size 8    # one process per GPU, 8 images each
    torchrun --nproc_per_node=4 -m cyclegan_lib train ... --gpu_ids 0,1,2,3

Exit codes: 0 done, 1 the losses diverged (NaN/inf) or a checkpoint could not be written
(disk full), 2 a bad option, path or checkpoint,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

from cyclegan_lib.pipeline import distributed
from cyclegan_lib.pipeline.checkpoints import CheckpointError
from cyclegan_lib.pipeline.datasets import DatasetError, create_dataset
from cyclegan_lib.pipeline.options import parse_train_options, print_options, save_options
from cyclegan_lib.pipeline.trainer import Trainer, TrainingDiverged

PROG = "cyclegan train"


def fail(message: str, code: int = 2) -> int:
    """Print one error line (no traceback) and return the exit code."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    """Parse ``argv``, then train; several ``--gpu_ids`` start one process per GPU."""
    opt = parse_train_options(argv, PROG)
    try:
        distributed.check_gpu_ids(opt.gpu_ids)
        if len(opt.gpu_ids) > 1 and not distributed.launched_by_torchrun():
            create_dataset(opt)  # report a bad --dataroot once, not once per process
            return distributed.spawn_per_gpu(len(opt.gpu_ids), main, list(argv))
        context = distributed.setup(opt.gpu_ids)
    except (distributed.DeviceError, DatasetError) as error:
        return fail(str(error))
    try:
        if context.is_main:
            print_options(opt)
        try:
            trainer = Trainer(opt, context)
        except (DatasetError, CheckpointError, ValueError) as error:
            return fail(str(error))
        if context.is_main:
            save_options(opt)
        final = trainer.run()
    except (TrainingDiverged, CheckpointError) as error:  # diverged, or a save failed
        return fail(str(error), code=1)
    except KeyboardInterrupt:
        return fail("interrupted; continue from the last save with --continue_train", code=130)
    finally:
        distributed.teardown(context)
    if context.is_main:
        print(f"done: {final.total_iters} images seen; checkpoints in {opt.experiment_dir}")
    return 0
