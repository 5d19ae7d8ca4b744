"""Time as the people using the tool read it.

Timestamps are stored as UTC ISO 8601 text (`store.now()`). Every timestamp shown on a
page or written to an export is turned into the zone of the `TIMEZONE` setting (default
Asia/Tokyo, an IANA name read with zoneinfo; on Windows the `tzdata` package supplies
the zone data), and "today" (days left to a deadline, the calendar days of the answer
history filter) is that zone's day. `create_app` calls `use_zone` with the setting; a
process that never does (a unit test of a read model) uses the default.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Tokyo"
_chosen = DEFAULT_ZONE


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_zone(name: str) -> ZoneInfo:
    """The zone named `name`; ValueError with the name when zoneinfo does not know it."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"TIMEZONE: unknown time zone {name!r} (an IANA name such as "
                         f"{DEFAULT_ZONE!r})") from error


def use_zone(name: str) -> None:
    """Show and export timestamps in `name` from now on (checked first)."""
    global _chosen
    check_zone(name)
    _chosen = name


def zone() -> ZoneInfo:
    return _zone(_chosen)


def local_time(stamp: str | None) -> datetime | None:
    """A stored UTC timestamp in the chosen zone (aware); None without one."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp).astimezone(zone())


def iso_local(stamp: str | None) -> str | None:
    """A stored timestamp as ISO 8601 in the chosen zone with its offset, to the second:
    2021-06-30T14:05:09+09:00 (the form CSV and JSON carry)."""
    moment = local_time(stamp)
    return moment.isoformat(timespec="seconds") if moment else None


def excel_local(stamp: str | None) -> datetime | None:
    """A stored timestamp as the naive local date and time a spreadsheet cell holds
    (Excel has no time zones: the file says which zone in its column description)."""
    moment = local_time(stamp)
    return moment.replace(tzinfo=None, microsecond=0) if moment else None


def today(now: datetime | None = None) -> date:
    """Today's date (or the date of the aware moment `now`) in the chosen zone."""
    return (now or datetime.now(UTC)).astimezone(zone()).date()


def day_start_utc(day: date) -> str:
    """Midnight of a local calendar day as the stored UTC timestamp text."""
    start = datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)
    return start.isoformat(timespec="microseconds")
