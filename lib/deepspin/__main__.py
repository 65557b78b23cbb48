"""``python -m deepspin``: the same as the ``deepspin`` command (see :mod:`deepspin.runner`)."""

import sys

from deepspin.runner import main

sys.exit(main())
