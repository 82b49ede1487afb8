"""``python -m cyclegan_lib`` is the same as the ``cyclegan`` command."""

import sys

from cyclegan_lib.cli import main

sys.exit(main())
