"""Sub-commands of the ``cyclegan`` command, one module each with ``main(argv) -> int``."""
