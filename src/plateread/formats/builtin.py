"""The built-in formats: ``ru``, ``ru_all``, ``cn`` and ``generic``."""

from __future__ import annotations

from plateread.formats.core import CN_LETTERS, CN_PROVINCES, DIGITS, LATIN, RU_LETTERS, PlateFormat

RU = PlateFormat(
    name="ru",
    alphabet=DIGITS + RU_LETTERS,
    classes={"L": RU_LETTERS, "D": DIGITS},
    templates=("LDDDLLDD", "LDDDLLDDD"),
    style={"kind": "ru_civil", "binarized": 0.05},
)
# Russian plates of the other types (the course's "harder classes"): taxi and public transport
# (yellow, LL DDD), trailers (LL DDDD), police (blue, L DDDD) and military (black, DDDD LL), each
# followed by its region code, beside the civil ones; and two-row square plates of motorcycles
# and tractors (DDDD over LL and the region code; a three-digit code only on those)
RU_ALL = PlateFormat(
    name="ru_all",
    alphabet=DIGITS + RU_LETTERS,
    classes={"L": RU_LETTERS, "D": DIGITS},
    templates=(
        "LDDDLLDD",
        "LDDDLLDDD",
        "LLDDDDD",
        "LLDDDDDD",
        "LLDDDDDDD",
        "LDDDDDD",
        "LDDDDDDD",
        "DDDDLLDD",
        "DDDDLLDDD",
    ),
    style={
        "kind": "ru_all",
        "binarized": 0.05,
        "size_mm": [520, 112],
        "two_row_size_mm": [190, 145],
        "two_row_share": 0.4,
        "two_row_only": ["DDDDLLDDD"],
    },
    two_row={
        "DDDDLLDD": ((0, 1, 2, 3), (4, 5, 6, 7)),
        "DDDDLLDDD": ((0, 1, 2, 3), (4, 5, 6, 7, 8)),
    },
)
CN = PlateFormat(
    name="cn",
    alphabet=DIGITS + CN_LETTERS + CN_PROVINCES,
    classes={"P": CN_PROVINCES, "L": CN_LETTERS, "A": DIGITS + CN_LETTERS},
    templates=("PLAAAAA", "PLAAAAAA"),
    style={"kind": "cn", "loose_crops": 0.15},  # CCPD crops follow the annotated box closely
)
GENERIC = PlateFormat(name="generic", alphabet=DIGITS + LATIN, min_length=1, max_length=12)
BUILTIN: dict[str, PlateFormat] = {f.name: f for f in (RU, RU_ALL, CN, GENERIC)}
