"""``python -m simulator`` is the ``cobotsim`` command."""
import sys

from simulator.cli import main

sys.exit(main())
