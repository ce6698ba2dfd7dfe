"""Planning in local time: DST, quiet hours, offsets, recurrence (pure functions)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.planning import (
    DEFAULT_OFFSETS,
    QuietHours,
    normalize_rrule,
    occurrences,
    parse_offset,
    plan,
    to_utc,
)

CHICAGO = ZoneInfo("America/Chicago")


def _plan(**overrides):
    args = dict(
        starts_local=datetime(2026, 3, 2, 9, 0),
        timezone="America/Chicago",
        recurrence=None,
        offsets=DEFAULT_OFFSETS,
        member_timezone="America/Chicago",
        quiet=None,
        now=datetime(2026, 2, 1, tzinfo=UTC),
        horizon=datetime(2026, 12, 31, tzinfo=UTC),
    )
    args.update(overrides)
    return plan(**args)


def test_weekly_0900_in_chicago_stays_0900_local_across_both_dst_changes():
    found = occurrences(
        datetime(2026, 3, 2, 9, 0),
        CHICAGO,
        "FREQ=WEEKLY",
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 11, 10, tzinfo=UTC),
    )
    local_times = {instant.astimezone(CHICAGO).strftime("%H:%M") for _, instant in found}
    assert local_times == {"09:00"}
    by_date = {local.date(): instant for local, instant in found}
    # Before 2026-03-08 Chicago is UTC-6, after it UTC-5; after 2026-11-01 UTC-6 again.
    assert by_date[datetime(2026, 3, 2).date()].hour == 15
    assert by_date[datetime(2026, 3, 9).date()].hour == 14
    assert by_date[datetime(2026, 10, 26).date()].hour == 14
    assert by_date[datetime(2026, 11, 2).date()].hour == 15


def test_one_day_reminder_fires_at_1000_local_on_both_sides_of_dst():
    planned = _plan(
        recurrence="FREQ=WEEKLY",
        offsets=["1d@10:00"],
        now=datetime(2026, 3, 1, tzinfo=UTC),
        horizon=datetime(2026, 11, 10, tzinfo=UTC),
    )
    assert len(planned) >= 30
    for reminder in planned:
        local_due = reminder.due_at.astimezone(CHICAGO)
        assert (local_due.hour, local_due.minute) == (10, 0)
        assert local_due.date() == reminder.occurrence_local.date() - timedelta(days=1)
    # The reminder for Monday 2026-03-09 is due Sunday 2026-03-08, the day clocks change.
    assert any(r.due_at == datetime(2026, 3, 8, 15, 0, tzinfo=UTC) for r in planned)


def test_a_local_time_that_does_not_exist_moves_forward():
    # 02:30 does not exist in Chicago on 2026-03-08 (02:00 -> 03:00).
    assert (
        to_utc(datetime(2026, 3, 8, 2, 30), CHICAGO).astimezone(CHICAGO).strftime("%H:%M")
        == "03:30"
    )


def test_a_local_time_that_happens_twice_fires_once_at_its_first_instant():
    planned = _plan(
        starts_local=datetime(2026, 11, 1, 1, 30),
        offsets=["30m"],
        now=datetime(2026, 10, 31, tzinfo=UTC),
    )
    assert len(planned) == 1
    # 01:30 CDT (UTC-5) is the first of the two.
    assert planned[0].occurrence_at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_default_offsets_are_7_3_1_days_at_ten_and_2_hours_before():
    planned = _plan()
    due_local = sorted(r.due_at.astimezone(CHICAGO).strftime("%m-%d %H:%M") for r in planned)
    assert due_local == ["02-23 10:00", "02-27 10:00", "03-01 10:00", "03-02 07:00"]


def test_quiet_hours_move_a_reminder_earlier_not_away():
    planned = _plan(offsets=["2h"], quiet=QuietHours.of("22:00", "08:00"))
    assert len(planned) == 1
    # 07:00 falls in quiet hours: sent 15 minutes before they began, the evening before.
    assert planned[0].due_at.astimezone(CHICAGO).strftime("%m-%d %H:%M") == "03-01 21:45"


def test_nothing_is_planned_at_or_after_the_start_or_already_past():
    planned = _plan(offsets=["7d@10:00", "2h"], now=datetime(2026, 2, 27, tzinfo=UTC))
    assert [r.offset_key for r in planned] == ["2h"]
    # An offset that lands after the start (10:00 the day before a 09:00 start is fine;
    # 30 days before is past) never appears.
    assert all(r.due_at < r.occurrence_at for r in planned)


def test_quiet_hours_wrapping_midnight():
    quiet = QuietHours.of("22:00", "07:00")
    assert quiet.contains(datetime(2026, 1, 1, 23, 0).time())
    assert quiet.contains(datetime(2026, 1, 1, 6, 59).time())
    assert not quiet.contains(datetime(2026, 1, 1, 7, 0).time())
    assert quiet.began(datetime(2026, 1, 2, 3, 0)) == datetime(2026, 1, 1, 22, 0)
    assert quiet.ends(datetime(2026, 1, 1, 23, 0)) == datetime(2026, 1, 2, 7, 0)


@pytest.mark.parametrize("key", ["7d@10:00", "1d@00:00", "30d@23:59", "2h", "168h", "30m"])
def test_offsets_accepted(key):
    assert parse_offset(key).key == key


@pytest.mark.parametrize(
    "key", ["0d@10:00", "31d@10:00", "1d@24:00", "0h", "169h", "10081m", "2 h", "", "1d"]
)
def test_offsets_refused(key):
    with pytest.raises(ValueError):
        parse_offset(key)


def test_rrule_until_in_utc_becomes_local_and_bad_rules_are_refused():
    assert (
        normalize_rrule("RRULE:FREQ=WEEKLY;UNTIL=20261231T235959Z", CHICAGO)
        == "FREQ=WEEKLY;UNTIL=20261231T175959"
    )
    for bad in (
        "FREQ=HOURLY",
        "FREQ=WEEKLY;BYHOUR=3",
        "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=XX",
        "nonsense",
    ):
        with pytest.raises(ValueError):
            normalize_rrule(bad, CHICAGO)
