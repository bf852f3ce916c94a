"""``python -m proxy`` is the ``dialect`` command."""

import sys

from proxy.cli import main

sys.exit(main())
