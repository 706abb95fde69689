"""China Standard Time (UTC+8, no daylight saving): the hall's calendar and the carrier's clock."""

from datetime import timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")
