"""`python -m core.search`: the command line, which trains, so it lives with the jobs."""

import sys

from core.jobs.search_command import main

sys.exit(main())
