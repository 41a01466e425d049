"""Job priorities. Lower numbers run first, as on Redis and in BullMQ."""

from enum import IntEnum

from jobs.errors import InvalidInput


class Priority(IntEnum):
    CRITICAL = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4
    BATCH = 5

    @classmethod
    def parse(cls, value: "Priority | int | str | None") -> "Priority":
        """Accept a Priority, its number (1-5) or its name in any case."""
        if value is None:
            return cls.NORMAL
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            raise InvalidInput(f"invalid priority {value!r}", field="priority")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise InvalidInput(
                    f"invalid priority {value!r}: use 1-5 or CRITICAL, HIGH, NORMAL, LOW, BATCH",
                    field="priority",
                ) from None
        if isinstance(value, str):
            text = value.strip()
            if text.isdigit():
                return cls.parse(int(text))
            try:
                return cls[text.upper()]
            except KeyError:
                raise InvalidInput(
                    f"invalid priority {value!r}: use CRITICAL, HIGH, NORMAL, LOW or BATCH",
                    field="priority",
                ) from None
        raise InvalidInput(f"invalid priority {value!r}", field="priority")
