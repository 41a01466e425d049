"""Time-ordered UUIDs (version 7) for job ids.

Job ids double as Celery task ids. Ordering them by time keeps the ledger's primary-key
index append-only, where random UUIDs would scatter inserts over the whole index.
"""

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
