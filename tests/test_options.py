"""Options: the reference's names and defaults, model defaults, frozen, no side effects, one-line errors."""

from __future__ import annotations

import dataclasses
import math
import types
from typing import get_args

import pytest
import torch

from cyclegan_lib.losses import GAN_MODES, GANLoss
from cyclegan_lib.models import DIRECTIONS, MODELS, ModelConfig, ModelName, create_model
from cyclegan_lib.networks import (
    DISCRIMINATORS,
    INIT_TYPES,
    NORMS,
    define_D,
    define_G,
    init_weights,
)
from cyclegan_lib.pipeline.datasets import (
    DATASET_CLASSES,
    DataOptions,
    DatasetMode,
    create_dataset,
)
from cyclegan_lib.pipeline.options import (
    MODEL_DEFAULTS,
    TestOptions,
    TrainOptions,
    build_parser,
    format_options,
    parse_test_options,
    parse_train_options,
    save_options,
)
from cyclegan_lib.pipeline.schedulers import LR_POLICIES, get_scheduler
from cyclegan_lib.pipeline.transforms import PREPROCESS_MODES, Preprocess
from cyclegan_lib.tools.fake_data import make_image_folder_dataset


def train(*flags: str) -> TrainOptions:
    return parse_train_options(["--dataroot", "data", *flags])


def test_train_defaults_are_the_references():
    opt = train()
    expected = dict(
        name="experiment_name", checkpoints_dir="./checkpoints", model="cycle_gan", input_nc=3,
        output_nc=3, ngf=64, ndf=64, netD="basic", netG="resnet_9blocks", n_layers_D=3,
        norm="instance", init_type="normal", init_gain=0.02, dataset_mode="unaligned",
        direction="AtoB", serial_batches=False, num_threads=4, batch_size=1, load_size=286,
        crop_size=256, preprocess="resize_and_crop", no_flip=False, epoch="latest",
        display_id=1, print_freq=100, save_latest_freq=5000, save_epoch_freq=5, epoch_count=1,
        n_epochs=100, n_epochs_decay=100, beta1=0.5, lr=0.0002, gan_mode="lsgan", pool_size=50,
        lr_policy="linear", lr_decay_iters=50, lambda_A=10.0, lambda_B=10.0,
        lambda_identity=0.5, continue_train=False, phase="train", seed=0, amp=False,
    )  # fmt: skip
    assert {k: getattr(opt, k) for k in expected} == expected
    assert opt.max_dataset_size == math.inf
    assert opt.no_dropout is True  # cycle_gan's model default
    assert opt.is_train and opt.total_epochs == 200


def test_pix2pix_defaults_and_explicit_flags_win():
    opt = train("--model", "pix2pix")
    assert (opt.netG, opt.norm, opt.gan_mode, opt.pool_size) == ("unet_256", "batch", "vanilla", 0)
    assert (opt.dataset_mode, opt.lambda_L1, opt.no_dropout) == ("aligned", 100.0, False)
    opt = train("--model", "pix2pix", "--norm", "instance", "--netG", "unet_128")
    assert (opt.norm, opt.netG) == ("instance", "unet_128")


def test_test_defaults_and_fixed_settings():
    opt = parse_test_options(["--dataroot", "d", "--batch_size", "8", "--num_threads", "3"])
    assert isinstance(opt, TestOptions) and not opt.is_train
    assert (opt.model, opt.dataset_mode, opt.load_size, opt.crop_size) == (
        "test",
        "single",
        256,
        256,
    )
    assert (opt.batch_size, opt.num_threads, opt.serial_batches, opt.no_flip) == (1, 0, True, True)
    assert (opt.num_test, opt.results_dir, opt.phase, opt.epoch) == (
        50,
        "./results/",
        "test",
        "latest",
    )
    assert str(opt.results_page_dir).replace("\\", "/") == "results/experiment_name/test_latest"
    cycle = parse_test_options(["--dataroot", "d", "--model", "cycle_gan"])
    assert (cycle.dataset_mode, cycle.no_dropout) == ("unaligned", True)


def test_gpu_ids_and_suffix():
    assert train("--gpu_ids", "0,1").gpu_ids == (0, 1)
    assert train("--gpu_ids", "-1").gpu_ids == ()
    opt = train("--name", "run", "--suffix", "{model}_{netG}_size{load_size}")
    assert opt.name == "run_cycle_gan_resnet_9blocks_size286"


def test_options_are_frozen_and_parsing_has_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opt = train("--name", "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.lr = 1.0  # type: ignore[misc]
    assert list(tmp_path.iterdir()) == []  # no checkpoints/ folder made while parsing


def test_format_marks_changed_values_and_save_writes_train_opt(tmp_path):
    opt = train("--model", "pix2pix", "--checkpoints_dir", str(tmp_path), "--name", "p")
    text = format_options(opt)
    lines = text.splitlines()
    assert lines[0].startswith("----------------- Options") and lines[-1].startswith("-----")
    assert any(
        line.strip().startswith("netG: unet_256") and "[default: resnet_9blocks]" in line
        for line in lines
    )
    assert any(line.strip() == "lr: 0.0002" for line in lines)
    path = save_options(opt)
    assert path == tmp_path / "p" / "train_opt.txt" and path.read_text() == text + "\n"


@pytest.mark.parametrize(
    "flags, named",
    [
        ([], "--dataroot"),
        (["--model", "cyclegan"], "--model"),
        (["--model", "test"], "--model"),
        (["--netG", "resnet_nine"], "--netG"),
        (["--netG", "unet_100"], "--netG"),
        (["--netG", "unet_16"], "--netG"),  # a power of two, but too shallow for define_G
        (["--netD", "big"], "--netD"),
        (["--norm", "layer"], "--norm"),
        (["--lr_policy", "lambda"], "--lr_policy"),
        (["--gan_mode", "hinge"], "--gan_mode"),
        (["--gpu_ids", "zero"], "--gpu_ids"),
        (["--gpu_ids", "0,0"], "--gpu_ids"),
        (["--batch_size", "0"], "--batch_size"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--crop_size", "512"], "--crop_size"),
        (["--n_epochs", "0", "--n_epochs_decay", "0"], "--n_epochs"),
        (["--name", "a/b"], "--name"),
        (["--suffix", "{nope}"], "--suffix"),
        (["--no_such_flag"], "--no_such_flag"),
    ],
)
def test_bad_values_exit_2_with_one_line_naming_the_option(flags, named, capsys):
    argv = flags if flags == [] else ["--dataroot", "data", *flags]
    with pytest.raises(SystemExit) as exit_info:
        parse_train_options(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err, err


def choices(options_class: type, flag: str) -> tuple:
    """The values the command line accepts for ``flag``."""
    parser = build_parser(options_class, "cyclegan")
    return tuple(next(a for a in parser._actions if f"--{flag}" in a.option_strings).choices)


def test_every_choice_the_command_line_accepts_is_implemented(tmp_path):
    """Each allowed value builds (a name added to a list but not implemented fails here)."""
    for norm in choices(TrainOptions, "norm"):
        define_G(3, 3, 4, "unet_32", norm)
        define_D(3, 4, "basic", norm=norm)
    for netD in choices(TrainOptions, "netD"):
        define_D(3, 4, netD, n_layers_D=1)
    for init_type in choices(TrainOptions, "init_type"):
        init_weights(torch.nn.Conv2d(1, 1, 1), init_type)
    for gan_mode in choices(TrainOptions, "gan_mode"):
        GANLoss(gan_mode)(torch.zeros(1, 1, 2, 2), True)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    for policy in choices(TrainOptions, "lr_policy"):
        get_scheduler(optimizer, policy)
    for mode in choices(TrainOptions, "preprocess"):
        Preprocess(mode, load_size=32, crop_size=16)
    make_image_folder_dataset(tmp_path, n=1, size=8, layout="unaligned")
    make_image_folder_dataset(tmp_path, n=1, size=8, layout="aligned")
    for mode in choices(TrainOptions, "dataset_mode"):
        options = ModelConfig.for_model("colorization") if mode == "colorization" else None
        nc = dict(input_nc=options.input_nc, output_nc=options.output_nc) if options else {}
        assert len(create_dataset(DataOptions(tmp_path, mode, load_size=8, crop_size=8, **nc)))
    for phase, options_class in (("train", TrainOptions), ("test", TestOptions)):
        for model in choices(options_class, "model"):
            if phase in MODEL_DEFAULTS[model]:
                config = ModelConfig.for_model(model, phase == "train", netG="unet_32", ngf=4)
                assert create_model(config).config.model == model


def test_every_implemented_name_is_accepted_and_nothing_else():
    expected = {
        "norm": NORMS, "netD": DISCRIMINATORS, "init_type": INIT_TYPES, "gan_mode": GAN_MODES,
        "lr_policy": LR_POLICIES, "preprocess": PREPROCESS_MODES, "direction": DIRECTIONS,
        "dataset_mode": tuple(DATASET_CLASSES), "model": tuple(MODELS),
    }  # fmt: skip
    for flag, implemented in expected.items():
        assert set(choices(TrainOptions, flag)) == set(implemented), flag
        if flag not in ("gan_mode", "lr_policy"):  # training options
            assert set(choices(TestOptions, flag)) == set(implemented), flag
    # the Literal types name the same values as the registries
    assert set(get_args(ModelName)) == set(MODELS)
    assert set(get_args(DatasetMode)) == set(DATASET_CLASSES)


def test_model_settings_take_their_defaults_from_the_model_config():
    for options_class in (TrainOptions, TestOptions):
        plain = {f.name: f.default for f in dataclasses.fields(options_class)}
        is_train = options_class is TrainOptions
        for name in ModelConfig.option_names(is_train):
            assert plain[name] == getattr(ModelConfig(), name), name


@pytest.mark.parametrize("model", ["cycle_gan", "pix2pix", "colorization"])
def test_a_models_defaults_are_the_same_from_the_command_line_and_in_python(model):
    opt = train("--model", model)
    assert ModelConfig.from_options(opt, is_train=True) == ModelConfig.for_model(model)
    test_opt = parse_test_options(["--dataroot", "d", "--model", model])
    expected = ModelConfig.for_model(model, is_train=False)
    assert ModelConfig.from_options(test_opt, is_train=False) == expected


def test_a_renamed_option_fails_instead_of_falling_back_to_a_default():
    opt = train()
    values = {k: v for k, v in dataclasses.asdict(opt).items() if k != "ngf"}
    renamed = types.SimpleNamespace(**values, n_gen_filters=opt.ngf)
    with pytest.raises(AttributeError, match="ngf"):
        ModelConfig.from_options(renamed, is_train=True)


def test_colorization_defaults_are_the_references():
    opt = train("--model", "colorization")
    assert (opt.input_nc, opt.output_nc, opt.dataset_mode) == (1, 2, "colorization")
    assert (opt.netG, opt.norm, opt.gan_mode, opt.pool_size) == ("unet_256", "batch", "vanilla", 0)
    test_opt = parse_test_options(["--dataroot", "d", "--model", "colorization"])
    assert (test_opt.input_nc, test_opt.output_nc, test_opt.dataset_mode) == (1, 2, "colorization")
