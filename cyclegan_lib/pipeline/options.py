"""Command-line options of ``cyclegan train`` and ``cyclegan test`` as typed, frozen dataclasses.

The option names and defaults are the reference's (``options/base_options.py``,
``train_options.py``, ``test_options.py`` of junyanz/pytorch-CycleGAN-and-pix2pix), plus
``--seed`` and ``--amp``. Three of its habits are avoided on purpose:

* no global mutable options object: parsing returns a new frozen :class:`TrainOptions`
  or :class:`TestOptions`, and nothing else changes;
* no side effects while parsing (no folders are made; :func:`save_options` writes the file);
* no hidden default changes: a model's defaults live in :data:`MODEL_DEFAULTS`, the fixed test
  settings in :data:`TEST_FIXED`, and :func:`format_options` marks every value that differs from
  the plain default.

Nothing is declared twice: the allowed values of ``--norm``, ``--netD``, ``--gan_mode``,
``--dataset_mode``, ``--preprocess``, ``--lr_policy``, ``--model``... are read from the modules
that implement them, a model's settings take their defaults from :class:`ModelConfig`, and
each model's defaults from its class (``tests/test_options.py`` checks that they agree).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import torch

from cyclegan_lib.losses import GAN_MODES, GanMode
from cyclegan_lib.models import DIRECTIONS, MODELS, Direction, ModelConfig, ModelName
from cyclegan_lib.networks import (
    DISCRIMINATORS,
    INIT_TYPES,
    NORMS,
    DiscriminatorName,
    InitType,
    Norm,
    parse_generator_name,
)
from cyclegan_lib.pipeline.datasets import DATASET_MODES, DatasetMode
from cyclegan_lib.pipeline.schedulers import LR_POLICIES, LrPolicy
from cyclegan_lib.pipeline.transforms import PREPROCESS_MODES, PreprocessMode

BASE = ModelConfig()
"""The reference's base defaults of every model setting (``--ngf 64``, ``--lr 0.0002``...)."""

DEFAULT_GPU_IDS: tuple[int, ...] = (0,) if torch.cuda.is_available() else ()
"""The reference's default is GPU 0; on a machine without CUDA it is ``-1`` (the CPU)."""

T = TypeVar("T")
OptionsT = TypeVar("OptionsT", bound="BaseOptions")


def option(default: T, help: str, **parse: Any) -> T:
    """A dataclass field that also describes its command-line flag (``choices``, ``type``...)."""
    return field(default=default, metadata={"help": help, **parse})


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, image sizes, frequencies)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (epoch counts, pool size, worker count)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float >= 0 (learning rate, loss weights)."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def dataset_size(text: str) -> float:
    """``inf`` (the reference's default: no limit) or a positive integer."""
    return math.inf if text.strip().lower() == "inf" else float(positive_int(text))


def gpu_ids(text: str) -> tuple[int, ...]:
    """The reference's ``--gpu_ids``: ``0``, ``0,1,2`` ... or ``-1`` for the CPU (empty tuple)."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected GPU numbers like 0 or 0,1 (or -1 for the CPU), got {text!r}"
        ) from None
    if not ids or (-1 in ids and len(ids) > 1) or any(i < -1 for i in ids):
        raise argparse.ArgumentTypeError(f"expected 0, 0,1, ... or -1 for the CPU, got {text!r}")
    if len(set(ids)) != len(ids):
        raise argparse.ArgumentTypeError(f"a GPU is listed twice in {text!r}")
    return tuple(i for i in ids if i >= 0)


def generator_name(text: str) -> str:
    """A ``--netG`` value that :func:`cyclegan_lib.networks.define_G` can build."""
    try:
        parse_generator_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--netG ")) from None
    return text


@dataclass(frozen=True)
class BaseOptions:
    """Options shared by training and testing (the reference's ``BaseOptions``)."""

    dataroot: str = option("", "path to images (with subfolders trainA, trainB, testA, ...)")
    name: str = option("experiment_name", "experiment name: where samples and models are stored")
    gpu_ids: tuple[int, ...] = option(
        DEFAULT_GPU_IDS,
        "GPU ids: 0, 0,1,2 or -1 for the CPU (default 0 with a GPU, -1 without); "
        "several ids train with one process per GPU",
        type=gpu_ids,
    )
    checkpoints_dir: str = option("./checkpoints", "models are saved here")
    model: ModelName = option(BASE.model, "which model to use", choices=tuple(MODELS))
    input_nc: int = option(
        BASE.input_nc, "input image channels: 3 for RGB, 1 for grayscale", type=positive_int
    )
    output_nc: int = option(
        BASE.output_nc, "output image channels: 3 for RGB, 1 for grayscale", type=positive_int
    )
    ngf: int = option(BASE.ngf, "generator filters in the last conv layer", type=positive_int)
    ndf: int = option(BASE.ndf, "discriminator filters in the first conv layer", type=positive_int)
    netD: DiscriminatorName = option(
        BASE.netD, "discriminator: basic = 70x70 PatchGAN", choices=DISCRIMINATORS
    )
    netG: str = option(BASE.netG, "generator architecture", type=generator_name)
    n_layers_D: int = option(
        BASE.n_layers_D, "conv layers of D when --netD n_layers", type=positive_int
    )
    norm: Norm = option(BASE.norm, "normalization layer", choices=NORMS)
    init_type: InitType = option(BASE.init_type, "weight initialization", choices=INIT_TYPES)
    init_gain: float = option(
        BASE.init_gain, "scale of normal, xavier and orthogonal init", type=float
    )
    no_dropout: bool = option(BASE.no_dropout, "no dropout in the generator")
    dataset_mode: DatasetMode = option(
        "unaligned", "how datasets are loaded", choices=DATASET_MODES
    )
    direction: Direction = option(BASE.direction, "translation direction", choices=DIRECTIONS)
    serial_batches: bool = option(False, "take images in order instead of shuffling")
    num_threads: int = option(4, "data loading worker processes", type=non_negative_int)
    batch_size: int = option(
        1, "input batch size (per process with several GPUs)", type=positive_int
    )
    load_size: int = option(286, "scale images to this size", type=positive_int)
    crop_size: int = option(256, "then crop to this size", type=positive_int)
    max_dataset_size: float = option(math.inf, "use at most this many images", type=dataset_size)
    preprocess: PreprocessMode = option(
        "resize_and_crop", "scaling and cropping at load time", choices=PREPROCESS_MODES
    )
    no_flip: bool = option(False, "do not flip images for data augmentation")
    display_winsize: int = option(256, "image size on the HTML page", type=positive_int)
    epoch: str = option("latest", "which epoch to load: latest or a number")
    load_iter: int = option(
        0, "load models saved at this iteration (if > 0)", type=non_negative_int
    )
    verbose: bool = option(False, "print network details")
    suffix: str = option("", "appended to --name, may use fields: {model}_{netG}_size{load_size}")
    phase: str = option("train", "train, val, test, ...")
    seed: int = option(0, "seed of every random number generator (not in the reference)", type=int)
    amp: bool = option(
        BASE.amp, "mixed precision on CUDA: bf16 if supported, else fp16 (never on CPU)"
    )

    is_train: ClassVar[bool] = False
    """The reference's ``opt.isTrain``."""

    @property
    def experiment_dir(self) -> Path:
        """``<checkpoints_dir>/<name>``: where networks, logs and the training page are written."""
        return Path(self.checkpoints_dir) / self.name


@dataclass(frozen=True)
class TrainOptions(BaseOptions):
    """Training options (the reference's ``TrainOptions`` and the models' training options)."""

    is_train: ClassVar[bool] = True

    display_freq: int = option(
        400, "iterations between images sent to visdom, wandb, tensorboard", type=positive_int
    )
    display_ncols: int = option(
        4, "images per row in visdom (0: a window per image)", type=non_negative_int
    )
    display_id: int = option(
        1, "visdom window id when visdom is installed (<= 0: no visdom)", type=int
    )
    display_server: str = option("http://localhost", "visdom server")
    display_env: str = option("main", "visdom environment")
    display_port: int = option(8097, "visdom server port", type=int)
    use_wandb: bool = option(False, "log losses and images to Weights & Biases")
    wandb_project_name: str = option("CycleGAN-and-pix2pix", "wandb project")
    use_tensorboard: bool = option(
        False, "log to checkpoints/<name>/tensorboard (not in the reference)"
    )
    update_html_freq: int = option(1000, "iterations between saved HTML images", type=positive_int)
    print_freq: int = option(100, "iterations between loss prints", type=positive_int)
    no_html: bool = option(False, "do not write checkpoints/<name>/web/")
    save_latest_freq: int = option(
        5000, "iterations between 'latest' checkpoints", type=positive_int
    )
    save_epoch_freq: int = option(
        5, "epochs between '<epoch>_net_*.pth' checkpoints", type=positive_int
    )
    save_by_iter: bool = option(False, "also keep networks as iter_<n>_net_*.pth")
    continue_train: bool = option(False, "resume exactly from checkpoints/<name>/latest_state.pt")
    epoch_count: int = option(1, "the starting epoch count", type=positive_int)
    n_epochs: int = option(100, "epochs at the initial learning rate", type=non_negative_int)
    n_epochs_decay: int = option(
        100, "epochs to decay the learning rate to zero", type=non_negative_int
    )
    beta1: float = option(BASE.beta1, "Adam's beta1", type=non_negative_float)
    lr: float = option(BASE.lr, "initial Adam learning rate", type=non_negative_float)
    gan_mode: GanMode = option(BASE.gan_mode, "GAN objective", choices=GAN_MODES)
    pool_size: int = option(
        BASE.pool_size, "size of the image history pool (0: none)", type=non_negative_int
    )
    lr_policy: LrPolicy = option("linear", "learning rate policy", choices=LR_POLICIES)
    lr_decay_iters: int = option(50, "step policy: decay every this many epochs", type=positive_int)
    lambda_A: float = option(
        BASE.lambda_A, "cycle_gan: weight of cycle loss A->B->A", type=non_negative_float
    )
    lambda_B: float = option(
        BASE.lambda_B, "cycle_gan: weight of cycle loss B->A->B", type=non_negative_float
    )
    lambda_identity: float = option(
        BASE.lambda_identity,
        "cycle_gan: identity weight, relative to lambda_A/B",
        type=non_negative_float,
    )
    lambda_L1: float = option(
        BASE.lambda_L1, "pix2pix: weight of the L1 loss", type=non_negative_float
    )

    @property
    def total_epochs(self) -> int:
        """The last epoch: ``n_epochs + n_epochs_decay`` (the reference's loop bound)."""
        return self.n_epochs + self.n_epochs_decay


@dataclass(frozen=True)
class TestOptions(BaseOptions):
    """Test options (the reference's ``TestOptions`` and ``TestModel``)."""

    __test__ = False  # not a pytest test class, despite its name

    results_dir: str = option("./results/", "results are saved here")
    aspect_ratio: float = option(1.0, "aspect ratio of result images", type=non_negative_float)
    phase: str = option("test", "train, val, test, ...")
    eval: bool = option(False, "use eval mode (dropout off, batch-norm running stats) when testing")
    num_test: int = option(50, "how many test images to run", type=positive_int)
    model_suffix: str = option(
        BASE.model_suffix, "--model test loads latest_net_G<suffix>.pth, e.g. _A"
    )

    @property
    def results_page_dir(self) -> Path:
        """``<results_dir>/<name>/<phase>_<epoch>`` (``_iter<n>`` appended with --load_iter)."""
        label = f"{self.phase}_{self.epoch}" + (f"_iter{self.load_iter}" if self.load_iter else "")
        return Path(self.results_dir) / self.name / label


MODEL_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    name: model.option_defaults for name, model in MODELS.items()
}
"""Defaults that depend on ``--model``; a flag given on the command line always wins."""

TEST_DEFAULTS: dict[str, Any] = {"model": "test", "load_size": 256}
"""The reference's test defaults: ``--model test`` and ``load_size = crop_size`` (no cropping)."""

TEST_FIXED: dict[str, Any] = {
    "num_threads": 0,
    "batch_size": 1,
    "serial_batches": True,
    "no_flip": True,
}
"""Settings the reference's ``test.py`` forces whatever the command line says."""


class OptionsParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage dump) and exit with code 2."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(options_class: type[BaseOptions], prog: str) -> OptionsParser:
    """An argument parser with one flag per field of ``options_class``.

    Every default is ``SUPPRESS`` so that the parsed namespace holds only what the user typed;
    :func:`resolve` then layers the defaults explicitly.
    """
    phase = options_class.phase
    parser = OptionsParser(
        prog=prog, argument_default=argparse.SUPPRESS, epilog=describe_model_defaults(phase)
    )
    for spec in dataclasses.fields(options_class):
        meta = dict(spec.metadata)
        required = spec.name == "dataroot"
        help_text = meta.pop("help")
        if not required:
            help_text = f"{help_text} (default: {_show(spec.default)})"
        if spec.type in ("bool", bool):
            parser.add_argument(f"--{spec.name}", action="store_true", help=help_text)
        else:
            meta.setdefault("type", str)
            metavar = None if "choices" in meta else spec.name.upper()  # choices show as {a,b}
            parser.add_argument(
                f"--{spec.name}",
                help=help_text,
                metavar=metavar,
                required=required,
                **meta,
            )
    return parser


def describe_model_defaults(phase: str) -> str:
    """The ``--help`` epilog: which defaults each ``--model`` changes in this phase."""
    lines = []
    if phase == "test":
        shown = ", ".join(f"--{name} {value}" for name, value in TEST_DEFAULTS.items())
        lines.append(f"test defaults (as the reference's TestOptions): {shown}")
    lines.append(f"defaults changed by --model ({phase}):")
    for model, phases in MODEL_DEFAULTS.items():
        changes = phases.get(phase)
        if changes:
            shown = ", ".join(f"--{name} {_show(value)}" for name, value in changes.items())
            lines.append(f"  {model}: {shown}")
    if phase == "test":
        fixed = ", ".join(f"--{name} {_show(value)}" for name, value in TEST_FIXED.items())
        lines.append(f"always when testing (as the reference's test.py): {fixed}")
    return "\n".join(lines)


def defaults_for(options_class: type[BaseOptions], model: str) -> dict[str, Any]:
    """The default of every option for ``model``: plain, then test, then model defaults."""
    values = {f.name: f.default for f in dataclasses.fields(options_class)}
    phase = options_class.phase
    if phase == "test":
        values.update(TEST_DEFAULTS)
    values.update(MODEL_DEFAULTS[model].get(phase, {}))
    return values


def resolve(options_class: type[OptionsT], given: dict[str, Any]) -> OptionsT:
    """Layer the defaults for the chosen model under the given flags and check the result."""
    phase = options_class.phase
    model = given.get("model", TEST_DEFAULTS["model"] if phase == "test" else "cycle_gan")
    if phase not in MODEL_DEFAULTS[model]:
        trainable = ", ".join(name for name, phases in MODEL_DEFAULTS.items() if phase in phases)
        raise OptionError("--model", f"{model!r} is for testing only (use one of {trainable})")
    values = {**defaults_for(options_class, model), **given}
    if phase == "test":
        values.update(TEST_FIXED)
    if values["suffix"]:
        values["name"] = values["name"] + "_" + values["suffix"].format(**values)
    options = options_class(**values)
    check_consistency(options)
    return options


def check_consistency(opt: BaseOptions) -> None:
    """Combinations the reference accepts but that cannot work."""
    crops = opt.preprocess in ("resize_and_crop", "scale_width_and_crop")
    if crops and opt.crop_size > opt.load_size:
        raise OptionError(
            "--crop_size", f"{opt.crop_size} is larger than --load_size {opt.load_size}"
        )
    if not opt.name or "/" in opt.name or "\\" in opt.name:
        raise OptionError("--name", f"{opt.name!r} must be a plain folder name")
    if isinstance(opt, TrainOptions) and opt.total_epochs < opt.epoch_count:
        raise OptionError(
            "--n_epochs",
            f"n_epochs + n_epochs_decay = {opt.total_epochs} is before "
            f"--epoch_count {opt.epoch_count}: there is nothing to train",
        )


class OptionError(ValueError):
    """A bad option value; ``str()`` is the one-line message shown to the user."""

    def __init__(self, flag: str, problem: str) -> None:
        super().__init__(f"argument {flag}: {problem}")


def _parse(options_class: type[OptionsT], argv: Sequence[str], prog: str) -> OptionsT:
    parser = build_parser(options_class, prog)
    given = vars(parser.parse_args(list(argv)))
    try:
        return resolve(options_class, given)
    except OptionError as error:
        parser.error(str(error))
    except (KeyError, IndexError, ValueError) as error:  # a bad --suffix template
        parser.error(f"argument --suffix: {error}")


def parse_train_options(argv: Sequence[str], prog: str = "cyclegan train") -> TrainOptions:
    """Parse ``cyclegan train`` flags. Bad values exit with code 2 and one line naming the flag."""
    return _parse(TrainOptions, argv, prog)


def parse_test_options(argv: Sequence[str], prog: str = "cyclegan test") -> TestOptions:
    """Parse ``cyclegan test`` flags. Bad values exit with code 2 and one line naming the flag."""
    return _parse(TestOptions, argv, prog)


def format_options(opt: BaseOptions) -> str:
    """The reference's options table: sorted names, values, and ``[default: x]`` where changed."""
    plain = {f.name: f.default for f in dataclasses.fields(opt)}
    lines = ["----------------- Options ---------------"]
    for name in sorted(plain):
        value = getattr(opt, name)
        comment = "" if value == plain[name] else f"\t[default: {_show(plain[name])}]"
        lines.append(f"{name:>25}: {_show(value):<30}{comment}")
    lines.append("----------------- End -------------------")
    return "\n".join(lines)


def save_options(opt: BaseOptions, folder: Path | None = None) -> Path:
    """Write :func:`format_options` to ``<checkpoints_dir>/<name>/<phase>_opt.txt``."""
    folder = Path(folder) if folder is not None else opt.experiment_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{opt.phase}_opt.txt"
    path.write_text(format_options(opt) + "\n")
    return path


def _show(value: Any) -> str:
    """Print values the way they are typed: ``0,1`` / ``-1`` for GPU ids."""
    if isinstance(value, tuple):
        return ",".join(map(str, value)) if value else "-1"
    return str(value)


def print_options(opt: BaseOptions, out: Callable[[str], Any] = print) -> None:
    """Print the options table (only rank 0 calls this when training on several GPUs)."""
    out(format_options(opt))


if __name__ == "__main__":  # pragma: no cover - handy for a quick look
    print_options(parse_train_options(sys.argv[1:]))
