"""``cyclegan test``: run a trained model on a test set (the reference's ``test.py``).

Examples::

    cyclegan test --dataroot ./datasets/horse2zebra --name horse2zebra_cyclegan --model cycle_gan
    cyclegan test --dataroot datasets/horse2zebra/testA --name horse2zebra_pretrained \\
        --model test --no_dropout

It loads ``checkpoints/<name>/<epoch>_net_<X>.pth`` (``latest`` unless ``--epoch``) and writes
``results/<name>/test_<epoch>/images/<stem>_<label>.png`` for the first ``--num_test`` images,
with labels ``real_A fake_B rec_A real_B fake_A rec_B`` (cycle_gan), ``real_A fake_B real_B``
(pix2pix) or ``real fake`` (test), plus an ``index.html`` showing them. As in the reference,
images are read one at a time in order without flipping, and networks stay in training mode
unless ``--eval``. With several ``--gpu_ids`` the first one is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from cyclegan_lib.models import BaseModel, ModelConfig, create_model
from cyclegan_lib.pipeline import distributed
from cyclegan_lib.pipeline.checkpoints import CheckpointError, checkpoint_label, network_file
from cyclegan_lib.pipeline.datasets import DatasetError, create_dataset
from cyclegan_lib.pipeline.options import (
    TestOptions,
    parse_test_options,
    print_options,
    save_options,
)
from cyclegan_lib.pipeline.pages import ResultsPage
from cyclegan_lib.pipeline.pretrained import GeneratorSpec, load_network
from cyclegan_lib.runtime import seed_everything

PROG = "cyclegan test"


def load_networks(model: BaseModel, opt: TestOptions) -> None:
    """Load ``<label>_net_<X>.pth`` into each network (old InstanceNorm keys dropped, strict).

    Raises:
        CheckpointError: a missing file, or one that does not fit.
    """
    label = checkpoint_label(opt.epoch, opt.load_iter)
    for name, net in model.networks().items():
        path = network_file(opt.experiment_dir, label, name)
        if not path.is_file():
            raise CheckpointError(
                f"no checkpoint {path}: check --name, --checkpoints_dir, --epoch and --model "
                "(cyclegan download model NAME fetches the reference's pretrained generators)"
            )
        load_network(net, path, generator_spec(opt, name))


def generator_spec(opt: TestOptions, net_name: str) -> GeneratorSpec | None:
    """How network ``net_name`` was built, so a mismatching file names the options to change.

    ``G_B`` maps B to A, so its channels are swapped; discriminators get no spec.
    """
    if not net_name.startswith("G"):
        return None
    channels = (opt.output_nc, opt.input_nc) if net_name == "G_B" else (opt.input_nc, opt.output_nc)
    return GeneratorSpec(opt.netG, opt.ngf, opt.norm, not opt.no_dropout, *channels)


def run(opt: TestOptions) -> Path:
    """Translate the first ``num_test`` images and write the results page; return its path."""
    distributed.check_gpu_ids(opt.gpu_ids)
    device = torch.device(f"cuda:{opt.gpu_ids[0]}") if opt.gpu_ids else torch.device("cpu")
    seed_everything(opt.seed)
    dataset = create_dataset(opt)
    model = create_model(ModelConfig.from_options(opt, is_train=False), device)
    load_networks(model, opt)
    save_options(opt)  # checkpoints/<name>/test_opt.txt, as the reference
    if opt.eval:
        model.eval()
    title = f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}"
    page = ResultsPage(opt.results_page_dir, title, opt.display_winsize, opt.aspect_ratio)
    loader = DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0)
    for index, batch in enumerate(loader):
        if index >= opt.num_test:
            break
        model.set_input(batch)
        visuals = model.test()
        path = Path(model.image_paths[0])
        if index % 5 == 0:
            print(f"processing ({index:04d})-th image... {path}")
        page.add(path.stem, visuals)
    return page.write()


def main(argv: list[str]) -> int:
    """Parse ``argv`` and test; a bad option, folder or checkpoint exits with code 2."""
    opt = parse_test_options(argv, PROG)
    print_options(opt)
    try:
        page = run(opt)
    except (distributed.DeviceError, DatasetError, CheckpointError, ValueError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    print(f"results: {page}")
    return 0
