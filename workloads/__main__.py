"""``python -m workloads``: run the benchmark matrix on this interpreter."""

import sys

from workloads._driver import main

sys.exit(main())
