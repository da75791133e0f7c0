"""The policy file (`RESOLUTION_POLICY`): its shape, its defaults, and the refusals that stop
the service from starting, each naming the key and its line."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from resolution.config import Config, ConfigError
from resolution.domain.calendars import Calendar, WorkingHours
from resolution.domain.deadlines import Deadlines
from resolution.domain.orders import Window
from resolution.domain.policy import Period, Policy, Rules

SECRET = "s" * 40

ISSUE_EXAMPLE = """\
[default]                                   # applies to every channel unless overridden
inactivity_period = "72h"                   # or "3 business days"
calendar = "none"                           # or "ID": Indonesian public holidays
[channels.tokopedia]
inactivity_period = "3 business days"
calendar = "ID"
extra_holidays = ["2025-04-02", "2025-04-03"]  # cuti bersama, from the government's decree
working_hours = "06:00-21:00"               # optional, in WIB
care_first_reply = "24h"
care_decide = "24h"
review_window = "72h"
complaint_window = "7 days after delivery"
evidence_min_due = "24h"
"""


def load(tmp_path, text: str, **env: str) -> Config:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return Config.from_env({"RESOLUTION_JWT_SECRET": SECRET, "RESOLUTION_POLICY": str(path), **env})


def refusal(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    return str(refused.value)


def test_the_issues_example_file_sets_tokopedia_apart(tmp_path):
    policy = load(tmp_path, ISSUE_EXAMPLE).deadlines
    assert isinstance(policy, Policy)
    tokopedia = policy.rules("tokopedia")
    assert tokopedia.inactivity == Period(business_days=3)
    assert tokopedia.calendar == Calendar("ID", frozenset({date(2025, 4, 2), date(2025, 4, 3)}))
    assert tokopedia.working_hours == WorkingHours(time(6), time(21))
    assert tokopedia.complaint_window == Window(timedelta(days=7), timedelta(days=30))
    assert policy.rules("tiktok_shop") == policy.default == Rules()


def test_the_default_policy_is_todays_plain_hours(tmp_path):
    assert load(tmp_path, "[default]\n").deadlines.rules("tokopedia") == Deadlines().rules()
    assert Deadlines().rules() == Rules()


def test_the_environments_settings_stay_beneath_the_file(tmp_path):
    config = load(
        tmp_path,
        '[default]\ncalendar = "ID"\n[channels.tokopedia]\nreview_window = "5 business days"\n',
        RESOLUTION_INACTIVITY_PERIOD="48h",
        RESOLUTION_CARE_SLA="8h",
        RESOLUTION_COMPLAINT_WINDOW="7d/30d,tiktok_shop=3d/15d",
    )
    tokopedia = config.deadlines.rules("tokopedia")
    assert tokopedia.inactivity == Period(span=timedelta(hours=48))
    assert tokopedia.care_decide == Period(span=timedelta(hours=8))
    assert tokopedia.review_window == Period(business_days=5)
    assert tokopedia.calendar.name == "ID"  # the channel inherits the file's default
    assert config.windows.of("tiktok_shop") == Window(timedelta(days=3), timedelta(days=15))
    assert config.deadlines.rules("tiktok_shop").calendar.name == "ID"


def test_a_complaint_window_may_name_both_of_its_ends(tmp_path):
    window = '"3 days after delivery, 15 days after payment"'
    text = f"[channels.tiktok_shop]\ncomplaint_window = {window}\n"
    assert load(tmp_path, text).windows.of("tiktok_shop") == Window(
        timedelta(days=3), timedelta(days=15)
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[default]\ninactivity_period = "72h"\ninactivity = "3d"\n', "line 3: default.inactivity"),
        ('[default]\n\n[channels.tokopedia]\ncalendar = "ID"\nreveiw_window = "72h"\n', "line 5"),
        ('[default]\ninactivity_period = "-72h"\n', "line 2: default.inactivity_period"),
        ('[default]\ncare_decide = "-1 business days"\n', "line 2: default.care_decide"),
        ('[default]\nworking_hours = "21:00-06:00"\n', "line 2: default.working_hours"),
        ('[default]\nworking_hours = "09:00-09:00"\n', "line 2: default.working_hours"),
        ('[default]\n[channels.shopee]\n\ncalendar = "MY"\n', "line 4: channels.shopee.calendar"),
        ('[default]\ncalendar = "none"\n[holidays]\nx = 1\n', "line 3: holidays"),
        ('[default]\nevidence_min_due = "2 business days"\n', "line 2: default.evidence_min_due"),
        ('[default]\nextra_holidays = ["2025-02-30"]\n', "line 2: default.extra_holidays"),
        ("[default]\nreview_window = 72\n", "line 2: default.review_window"),
        ('[default]\ncomplaint_window = "a week"\n', "line 2: default.complaint_window"),
    ],
)
def test_a_bad_policy_refuses_to_start_naming_the_key_and_its_line(tmp_path, text, named):
    message = refusal(tmp_path, text)
    assert "RESOLUTION_POLICY" in message
    assert named in message


def test_each_refusal_says_what_is_wrong(tmp_path):
    assert "unknown key" in refusal(tmp_path, '[default]\ninactivity = "3d"\n')
    assert "negative" in refusal(tmp_path, '[default]\ninactivity_period = "-72h"\n')
    assert "end before they start" in refusal(
        tmp_path, '[default]\nworking_hours = "21:00-06:00"\n'
    )
    assert "unknown calendar 'MY'" in refusal(tmp_path, '[default]\ncalendar = "MY"\n')


def test_a_file_that_is_not_toml_names_its_line(tmp_path):
    assert "line 2" in refusal(tmp_path, "[default]\ninactivity_period = 72h\n")


def test_a_missing_file_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        Config.from_env(
            {"RESOLUTION_JWT_SECRET": SECRET, "RESOLUTION_POLICY": str(tmp_path / "none.toml")}
        )
