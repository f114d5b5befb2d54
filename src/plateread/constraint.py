"""Which texts can still grow into a valid plate: a small automaton over a format's templates,
prefixes and suffixes, for format-constrained beam search (numpy-free; the search asks it
millions of times, so each answer is one cached dictionary lookup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plateread.errors import FormatError

if TYPE_CHECKING:  # formats/core.py builds and caches these (``PlateFormat.automaton``)
    from plateread.formats import PlateFormat

# (characters read so far, shapes still matching, prefixes still matching), as bit masks; a
# shape is a template (or, without templates, a length) with one of the suffixes written at its end
State = tuple[int, int, int]


def _shapes(fmt: PlateFormat) -> list[list[str]]:
    """Every layout a valid plate can take, as the characters each position allows: each
    template (or each length, for a format with suffixes but no templates) with each suffix in
    its last positions. Empty for a format with neither templates nor suffixes (lengths only).
    """
    if fmt.templates:
        bases = [[fmt.classes[c] for c in t] for t in fmt.templates]
    elif fmt.suffixes:
        bases = [[fmt.alphabet] * n for n in range(fmt.min_length, fmt.max_length + 1)]
    else:
        return []
    if not fmt.suffixes:
        return bases
    shapes = []
    for base in bases:
        for tail in fmt.suffixes:
            start = len(base) - len(tail)
            if start < 0:
                continue
            shape = [*base[:start], *(c if c in a else "" for c, a in zip(tail, base[start:]))]
            if all(shape):
                shapes.append(shape)
    return shapes


def _masks(patterns: list[list[str]], alphabet: str, longest: int) -> list[list[int]]:
    """``[pos][class]``: the bit mask of patterns whose position ``pos`` allows the class.

    ``patterns[i][pos]`` holds the characters pattern ``i`` allows at ``pos`` ("" past its end).
    """
    rows = []
    for pos in range(longest):
        row = [0] * (len(alphabet) + 1)
        for i, pattern in enumerate(patterns):
            allowed = pattern[pos] if pos < len(pattern) else ""
            for k, ch in enumerate(alphabet, start=1):
                if ch in allowed:
                    row[k] |= 1 << i
        rows.append(row)
    return rows


class PrefixAutomaton:
    """Follows a text character by character and says whether it can still become, or already
    is, a valid plate of ``fmt``: the same answers as :meth:`PlateFormat.is_valid` for whole
    texts, and for prefixes "some continuation is valid by length and characters".

    Prefixes and shapes are followed apart, so a text that fits both so far is let grow even
    when no one plate fits them together; :meth:`accepts` is exact.

    Example:
        >>> from plateread.formats import load_format
        >>> a = load_format("ru").automaton
        >>> s = a.start
        >>> for ch in "A123BC77":
        ...     s = a.step(s, a.fmt.alphabet.index(ch) + 1)
        >>> a.accepts(s)
        True
    """

    def __init__(self, fmt: PlateFormat) -> None:
        self.fmt = fmt
        shapes = _shapes(fmt)
        self._shaped = bool(fmt.templates or fmt.suffixes)
        self._t_longest = max((len(t) for t in shapes), default=0)
        self._t_allow = _masks(shapes, fmt.alphabet, self._t_longest)
        self._t_end = [
            sum(1 << i for i, t in enumerate(shapes) if len(t) == n)
            for n in range(self._t_longest + 1)
        ]
        self._shapes = shapes
        pres = list(fmt.prefixes)
        self._p_longest = max((len(p) for p in pres), default=0)
        # a prefix already read in full allows anything after it
        everything = fmt.alphabet
        self._p_allow = _masks(
            [[*p, *[everything] * (self._p_longest - len(p))] for p in pres],
            fmt.alphabet,
            self._p_longest,
        )
        self._p_done = [
            sum(1 << i for i, p in enumerate(pres) if len(p) <= n)
            for n in range(self._p_longest + 1)
        ]
        self.start: State = (0, (1 << len(shapes)) - 1, (1 << len(pres)) - 1)
        self._cache: dict[tuple[State, int], State | None] = {}

    def step(self, state: State, k: int) -> State | None:
        """The state after class ``k`` (1-based), or None when no valid plate starts so."""
        key = (state, k)
        try:
            return self._cache[key]
        except KeyError:
            pass
        n, tm, pm = state
        new: State | None = None
        if self._shaped:
            tm = tm & self._t_allow[n][k] if n < self._t_longest else 0
            ok = tm != 0
        else:
            ok = n + 1 <= self.fmt.max_length
        if ok and self.fmt.prefixes and n < self._p_longest:
            pm &= self._p_allow[n][k]
            ok = pm != 0
        if ok:
            new = (n + 1, tm, pm)
        self._cache[key] = new
        return new

    def can_start(self, text: str) -> bool:
        """Whether some valid plate starts with ``text`` (a whole valid plate included)."""
        state: State | None = self.start
        for ch in text:
            k = self.fmt.alphabet.find(ch) + 1
            if not k or state is None:
                return False
            state = self.step(state, k)
        return state is not None

    def can_end(self, text: str) -> bool:
        """Whether some valid plate ends with ``text`` (by its templates and suffixes, or its
        lengths and alphabet).
        """
        if not self.fmt.in_alphabet(text):
            return False
        if not self._shaped:
            return len(text) <= self.fmt.max_length
        return any(
            len(s) >= len(text) and all(c in a for c, a in zip(text, s[len(s) - len(text) :]))
            for s in self._shapes
        )

    def accepts(self, state: State) -> bool:
        """Whether the text that led to ``state`` is a valid plate."""
        n, tm, pm = state
        if n == 0:
            return False
        if self.fmt.prefixes and not pm & self._p_done[min(n, self._p_longest)]:
            return False
        if self._shaped:
            return n <= self._t_longest and bool(tm & self._t_end[n])
        return self.fmt.min_length <= n <= self.fmt.max_length


def check_codes(fmt: PlateFormat) -> None:
    """Refuse prefixes or suffixes no plate of ``fmt`` can take: they would make every reading
    invalid, or never be read.

    Raises:
        FormatError: a prefix starts, or a suffix ends, no plate of the templates (or lengths).
    """
    if not fmt.prefixes and not fmt.suffixes:
        return
    auto = fmt.automaton
    shapes = (
        f"templates {list(fmt.templates)}"
        if fmt.templates
        else f"{fmt.min_length}-{fmt.max_length} characters"
    )
    for what, codes, fits in (
        ("prefixes", fmt.prefixes, auto.can_start),
        ("suffixes", fmt.suffixes, auto.can_end),
    ):
        unfit = [c for c in codes if not fits(c)]
        if unfit:
            raise FormatError(
                f"format {fmt.name!r}: {what} {unfit} fit no plate of {shapes} (with the "
                "prefixes at the start and the suffixes at the end)"
            )
    if fmt.templates:
        dead = [t for t in fmt.templates if not _takes_codes(fmt, t)]
        if dead:
            ends = " and ".join(
                f"{side} with one of the {what} {list(codes)}"
                for side, what, codes in (
                    ("start", "prefixes", fmt.prefixes),
                    ("end", "suffixes", fmt.suffixes),
                )
                if codes
            )
            raise FormatError(
                f"format {fmt.name!r}: no plate of templates {dead} can {ends}: leave them out "
                "or add codes they take (their synthetic plates would teach texts that every "
                "reading must refuse)"
            )


def _takes_codes(fmt: PlateFormat, template: str) -> bool:
    """Whether some plate of ``template`` starts with one of the prefixes and ends with one of
    the suffixes (either list empty: anything).
    """
    for head in fmt.prefixes or ("",):
        for tail in fmt.suffixes or ("",):
            written = codes_written(len(template), head, tail)
            if written is not None and all(
                c is None or c in fmt.classes[k] for c, k in zip(written, template, strict=True)
            ):
                return True
    return False


def codes_written(length: int, head: str, tail: str) -> list[str | None] | None:
    """The character ``head`` (a prefix) and ``tail`` (a suffix) put at each place of a plate
    of ``length`` characters (None where neither reaches), or None when they cannot both be
    written: one longer than the plate, or the two disagreeing where they overlap (a short
    plate).
    """
    if len(head) > length or len(tail) > length:
        return None
    written: list[str | None] = [None] * length
    written[: len(head)] = head
    start = length - len(tail)
    for i, c in enumerate(tail, start):
        if written[i] not in (None, c):
            return None
        written[i] = c
    return written
