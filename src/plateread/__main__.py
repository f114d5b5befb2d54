"""``python -m plateread VERB ...``: the ``plateread`` command, where no console script is on the
PATH.
"""

import sys

from plateread.cli import main

sys.exit(main())
