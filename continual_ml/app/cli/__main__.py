"""`python -m continual_ml.app.cli`: the command line, as the `continual-ml` script runs it."""

import sys

from continual_ml.app.cli import main

sys.exit(main())
