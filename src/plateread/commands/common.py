"""What the verbs share."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def say_left_out(problems: Sequence[str], shown: int = 5) -> None:
    """Name the first ``shown`` entries a verb left out, on stderr, and count the rest."""
    for problem in problems[:shown]:
        print(f"left out: {problem}", file=sys.stderr)
    if len(problems) > shown:
        print(f"left out: {len(problems) - shown} more unreadable entries", file=sys.stderr)
