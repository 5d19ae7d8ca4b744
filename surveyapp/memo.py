"""Memos of values built from an immutable object: the results tables of a memoised
`RoundScores` (readmodels) and the form classes of a cached questionnaire definition
(web/forms.py). Imports nothing of ours."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ObjectMemo:
    """Values built from an immutable object (and a few arguments), kept while the
    object is the one the caches give: keyed by its identity and checked with `is` (a
    new object may get a freed one's id), the `size` most recent kept. The memoised
    RoundScores and the cached questionnaire definitions are such objects."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[object, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, owner: object, key: tuple, build: Callable[[], T]) -> T:
        full_key = (id(owner), *key)
        with self.lock:
            found = self.entries.get(full_key)
            if found is not None and found[0] is owner:
                self.entries.move_to_end(full_key)
                return found[1]
        value = build()
        with self.lock:
            self.entries[full_key] = (owner, value)
            self.entries.move_to_end(full_key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value
