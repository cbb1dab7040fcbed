"""`python -m core.train --preset fast-cnn`: train a preset from the shell (core.jobs.train_command)."""

import sys

from core.jobs.train_command import main

if __name__ == "__main__":
    sys.exit(main())
