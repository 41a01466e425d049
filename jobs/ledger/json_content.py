"""What a JSON value may hold to be stored: no NUL characters, no lone surrogates, no NaN.

PostgreSQL refuses a NUL character in text and jsonb (``DataError``) and ``NaN`` or
``Infinity`` in jsonb; a lone surrogate (``"\\ud800"``) is no Unicode text at all and fails
when the row is encoded, on SQLite after the row was committed, so every later read of it
fails too. ``unstorable_json_value`` finds the first such string (key or value) or number
at any depth, without recursion. The ledger checks a job's arguments with it
(``job_build``); the API's JSON parser checks every request body with it
(``jobs.web.parsers``), so such input is a 400 naming its path, never a 500.

Pure Python, no Django: any layer may import it.
"""

import json
import math
import re
from collections.abc import Iterator
from typing import NamedTuple

# A NUL character, or a UTF-16 surrogate code point (which only a lone surrogate leaves in
# a Python string: a valid pair decodes to one character).
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

PathSegment = str | int


class Unstorable(NamedTuple):
    """Where (dict keys and list indexes from the top), and why; ``in_key``: the last
    segment is a dict key that is itself unstorable."""

    path: list[PathSegment]
    problem: str
    in_key: bool = False


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    found = _UNSTORABLE_CHARACTER.search(text)
    if found is None:
        return None
    character = found.group()
    if character == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(character):04x}), which is not Unicode text"


def unstorable_json_value(value: object) -> Unstorable | None:
    """The first unstorable string (key or value) or number in ``value``, or None."""
    # Depth-first, in document order, with an explicit stack: no recursion, whatever the depth.
    stack: list[tuple[list[PathSegment], object]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = string_problem(item)
            if problem:
                return Unstorable(path, problem)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return Unstorable(path, f"is {item!r}, not a finite number")
        elif isinstance(item, dict):
            children: list[tuple[list[PathSegment], object]] = []
            for key, child in item.items():
                if isinstance(key, str):
                    problem = string_problem(key)
                    if problem:
                        return Unstorable([*path, key], f"is a key that {problem}", in_key=True)
                children.append(([*path, key], child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([([*path, index], child) for index, child in enumerate(item)]))
    return None


def format_path(path: list[PathSegment]) -> str:
    """``args[0]``, ``kwargs.name``, ``kwargs["a b"]``: safe to echo (non-ASCII escaped)."""
    return "".join(_format_segments(path))


def _format_segments(path: list[PathSegment]) -> Iterator[str]:
    for position, segment in enumerate(path):
        if isinstance(segment, int):
            yield f"[{segment}]"
        elif _IDENTIFIER.match(segment):
            yield segment if position == 0 else f".{segment}"
        else:
            yield f"[{json.dumps(segment)}]"
