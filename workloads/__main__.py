"""``python -m workloads``: run the benchmark matrix on this interpreter."""

import sys

from workloads._cli import main

sys.exit(main())
