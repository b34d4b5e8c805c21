"""``python -m spx_pipeline.cli``: the same CLI as the ``spx-pipeline`` script."""

import sys

from spx_pipeline.cli import main

sys.exit(main())
