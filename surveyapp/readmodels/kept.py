"""Figures kept between requests while the scores behind them are unchanged.

Every write that can change a score records, inside its own transaction, which 所属 of
which round it touched (triggers of migration 0043_score_changes, read through
store/score_changes.py); every other write — users, the audit log, rate limits,
autosaves of responses that do not count — records nothing. So:

- `memoised` keeps a figure until any score changes (the comparison of two rounds, the
  choice counts, the overview charts);
- `kept_round` keeps a round's figures per 所属: after a submission only the 所属 it
  touched are recomputed (`refresh`), and everything else is kept (the round's scores,
  its systems, its audit verification).

Each server process keeps its own figures and brings them up to date from the shared
record on its next read, so a write in one process (or the CLI) is seen by all. Inside
a write transaction a caller may see its own uncommitted changes, so nothing is kept
or reused there; a database without a file is never kept either.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlite_utils import Database

from surveyapp.store import score_changes
from surveyapp.store import versions as version_store

T = TypeVar("T")

MEMO_SIZE = 32  # figures of a few rounds and their comparisons, in a few languages
_lock = threading.Lock()
_memo: OrderedDict[tuple, object] = OrderedDict()
_rounds: OrderedDict[tuple, _Kept] = OrderedDict()


@dataclass(frozen=True)
class _Kept:
    generation: int  # of the score record when the figures were (brought) up to date
    value: object


def _identity(db: Database) -> tuple | None:
    return None if db.conn.in_transaction else version_store.database_identity(db)


def _put(cache: OrderedDict, key: tuple, value: object) -> None:
    with _lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > MEMO_SIZE:
            cache.popitem(last=False)


def memoised(db: Database, key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or its result from an earlier call with the same key while no
    score has changed since."""
    identity = _identity(db)
    if identity is None:
        return compute()
    full_key = (*identity, score_changes.generation(db), *key)
    with _lock:
        if full_key in _memo:
            _memo.move_to_end(full_key)
            return _memo[full_key]
    result = compute()
    _put(_memo, full_key, result)
    return result


def kept_round(db: Database, round_id: int, key: tuple, compute: Callable[[], T],
               refresh: Callable[[T, set[str]], T]) -> T:
    """A round's figures: `compute()` the first time (or when the whole round changed),
    then `refresh(kept, codes)` with the 所属 whose scores changed since, or the kept
    figures themselves while none did.

    The generation is read before the changes and the data, so the figures are never
    older than the generation they are kept under: a write that commits meanwhile is
    either read already or named again on the next call.
    """
    identity = _identity(db)
    if identity is None:
        return compute()
    generation = score_changes.generation(db)
    full_key = (*identity, round_id, *key)
    with _lock:
        found = _rounds.get(full_key)
    if found is not None and found.generation == generation:
        return found.value
    value = _brought_up_to_date(db, round_id, found, compute, refresh)
    with _lock:
        newer = _rounds.get(full_key)
        if newer is not None and newer.generation > generation:
            return value  # another thread kept later figures meanwhile
    _put(_rounds, full_key, _Kept(generation, value))
    return value


def _brought_up_to_date(db: Database, round_id: int, found: _Kept | None,
                        compute: Callable[[], T], refresh: Callable[[T, set[str]], T]) -> T:
    if found is None:
        return compute()
    codes = score_changes.changed_since(db, round_id, found.generation)
    if score_changes.WHOLE_ROUND in codes:
        return compute()
    return refresh(found.value, codes) if codes else found.value


def forget() -> None:
    """Drop every kept figure (tests compare kept figures with fresh ones)."""
    with _lock:
        _memo.clear()
        _rounds.clear()
