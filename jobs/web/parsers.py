"""The project's JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``): DRF's, with limits.

Every JSON request body, on every API endpoint including ``/api/auth/token/``, passes here
before a view sees it, and is refused with a 400 that says why when it is

- nested deeper than ``API_JSON_MAX_DEPTH`` (32) arrays/objects. Python's ``json`` decoder
  recurses once per level: ``"[" * 1000 + "]" * 1000`` raised ``RecursionError``, a 500
  (and an email to the admins) for anyone, without a token. The depth is counted on the raw
  text, in one pass and without recursion, *before* decoding;
- holding a string (key or value, at any depth) that cannot be stored: a NUL character or a
  lone surrogate (``jobs.ledger.json_content``). The 400 names the path
  (``{"field": "args", "args": ["args[0] contains a NUL character (\\u0000)"], ...}``), so
  nothing unstorable reaches a serializer, a service or the database.

Both answers are ``InvalidInput`` (``{"detail", "code", "field", "path"}``), rendered by the
project's one exception handler. Form bodies keep DRF's own parsers; what they carry reaches
the database only through serializer fields, which refuse NUL characters themselves (and
``job_build`` guards job arguments from any source).
"""

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from jobs.errors import InvalidInput
from jobs.ledger.json_content import format_path, unstorable_json_value

DEFAULT_MAX_DEPTH = 32

# A JSON string (skipped whole, so brackets inside strings do not count) or one bracket.
# An unterminated string never matches: its quote is skipped and the brackets after it are
# counted, which can only over-count, never let real nesting through.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def max_depth() -> int:
    value = getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 500:
        raise ImproperlyConfigured(f"API_JSON_MAX_DEPTH must be a whole number 1-500: {value!r}")
    return value


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays/objects in ``text`` nest deeper than ``limit``, counted iteratively."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            # bytes.decode refuses an unknown charset and a non-text codec (LookupError)
            # and bytes that are not in the charset (UnicodeDecodeError, a ValueError).
            text = stream.read().decode(encoding)
        except (LookupError, ValueError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        limit = max_depth()
        if nesting_exceeds(text, limit):
            raise InvalidInput(
                f"JSON nested deeper than {limit} levels of arrays and objects",
                code="json_too_deep",
            )
        try:
            # DRF's strictness: NaN and Infinity are no JSON (STRICT_JSON, on by default).
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        unstorable = unstorable_json_value(data)
        if unstorable is not None:
            path = unstorable.path
            where = format_path(path)
            # The top-level field it belongs to, as DRF's validation errors name fields; none
            # when the body is no object, or when that field's own name is the bad string.
            top = path[0] if path else None
            field = (
                top if isinstance(top, str) and not (len(path) == 1 and unstorable.in_key) else None
            )
            raise InvalidInput(
                f"{where or 'the body'} {unstorable.problem}",
                field=field,
                code="unstorable_value",
                path=where,
            )
        return data
