"""The time in a modem's answers: the cellular network's time (NITZ: Quectel AT+QLTS, SIMCom AT+CCLK?) and GNSS
(Quectel AT+QGPSLOC=2, SIMCom AT+CGPSINFO), as ms since the epoch (UTC), or None when the answer holds no time.

A modem that never heard NITZ answers an empty string or its own default date (1980, 2000, 2004): anything outside
PLAUSIBLE_YEARS is no time at all. Pure text parsing; imports only the stdlib, must not import the core.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

PLAUSIBLE_YEARS = range(2025, 2100)
SECOND_MS = 1000
# "2026/12/07,09:12:30+28,0" (QLTS, 4-digit year, daylight-saving flag) or "26/12/07,16:12:30+28" (CCLK)
_NITZ = re.compile(r'"?(\d{2}|\d{4})/(\d{2})/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-]\d{1,2})?(?:,\d)?"?$')


def _utc_ms(year: int, month: int, day: int, hms: str, zone_quarters: int = 0) -> int | None:
    """A calendar time (read in the zone `zone_quarters` quarter-hours east of UTC) in ms; None if implausible."""
    if year < 100:  # two digits: a modem's default 80/01/06 is 1980
        year += 1900 if year >= 80 else 2000
    if year not in PLAUSIBLE_YEARS:
        return None
    try:
        hours, minutes, seconds = int(hms[0:2]), int(hms[2:4]), float(hms[4:] or 0)
        at = datetime(year, month, day, hours, minutes, tzinfo=UTC) + timedelta(seconds=seconds)
    except ValueError:
        return None
    return int((at - timedelta(minutes=15 * zone_quarters)).timestamp() * 1000)


def network_time_ms(text: str, *, local: bool) -> int | None:
    """The NITZ answer's text after its prefix. `local`: the time is local and its zone is subtracted (CCLK, QLTS=2);
    otherwise it is UTC already (QLTS=1). Whole seconds: the middle of the second is returned."""
    m = _NITZ.match(text.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss, zone = m.groups()
    quarters = int(zone) if zone and local else 0
    ms = _utc_ms(int(year), int(month), int(day), hh + mm + ss, quarters)
    return None if ms is None else ms + SECOND_MS // 2


def _ddmmyy_time(date: str, hms: str) -> int | None:
    if not (len(date) == 6 and date.isdigit() and len(hms) >= 6 and hms[:6].isdigit()):
        return None
    return _utc_ms(int(date[4:6]), int(date[2:4]), int(date[0:2]), hms)


def qgpsloc_ms(fields: list[str]) -> int | None:
    """Quectel `+QGPSLOC: <UTC hhmmss.sss>,<lat>,<lon>,<hdop>,<alt>,<fix>,<cog>,<spkm>,<spkn>,<date ddmmyy>,<nsat>`."""
    return _ddmmyy_time(fields[9], fields[0]) if len(fields) >= 10 else None


def cgpsinfo_ms(fields: list[str]) -> int | None:
    """SIMCom `+CGPSINFO: <lat>,<N/S>,<lon>,<E/W>,<date ddmmyy>,<UTC hhmmss.s>,<alt>,<speed>,<course>`; empty
    fields: no fix."""
    return _ddmmyy_time(fields[4], fields[5]) if len(fields) >= 6 else None


GNSS_FORMATS = {"qgpsloc": qgpsloc_ms, "cgpsinfo": cgpsinfo_ms}
