"""The ``cyclegan`` command: a thin dispatcher to one module per sub-command.

Each sub-command module exposes ``main(argv: list[str]) -> int``. Modules are
imported only when their sub-command runs, so ``cyclegan --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    # name: (module, one-line help)
    "train": ("cyclegan_lib.cli.train", "train a CycleGAN or pix2pix model"),
    "test": ("cyclegan_lib.cli.test", "run a trained model on a test set"),
    "download": ("cyclegan_lib.cli.download", "download a dataset or a pretrained model"),
    "grade": ("cyclegan_lib.tools.grading", "grade learner notebooks"),
    "evaluate": (
        "cyclegan_lib.tools.evaluate",
        "FID and KID of translated images against real ones",
    ),
}


def usage() -> str:
    lines = ["usage: cyclegan COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines.append("\nrun 'cyclegan COMMAND --help' for a command's options")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cyclegan`` console script and ``python -m cyclegan_lib``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"cyclegan: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(rest) or 0)
