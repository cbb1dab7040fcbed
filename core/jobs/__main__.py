"""`python -m core.jobs <kind> <target>`: one background job, as the scheduler starts it."""

import sys

from core.jobs.runner import main

sys.exit(main())
