"""Periods at the ends of the calendar (found by the OpenAPI fuzz test): 422s, never 500s."""

from __future__ import annotations

import pytest

from schemas.periods import PeriodError, parse_period
from tests.support.api import make_world


@pytest.mark.parametrize("text", ["9999-12", "9999-W52", "9999-12-31", "9999-Q4", "9999"])
def test_a_period_ending_after_year_9999_is_an_invalid_period(text: str) -> None:
    with pytest.raises(PeriodError, match="invalid period"):
        parse_period(text)


def test_the_api_answers_422_naming_the_period_past_the_calendar() -> None:
    # given the API; when a period ends after 9999-12-31
    response = make_world().get("/api/behaviour?scope=rep:r1&period=9999-12")
    # then it is the caller's mistake, named, not a server error
    assert response.status_code == 422
    assert response.json()["detail"]["parameter"] == "period"


def test_a_plan_for_year_one_has_no_history_before_it_and_still_answers() -> None:
    # given a period with less calendar before it than the plan's trailing window
    response = make_world().get("/api/plan?scope=rep:r1&period=0001-01&metric=revenue")
    # then the plan answers from the little there is (nothing), rather than overflowing
    assert response.status_code == 200, response.text
    assert response.json()["target"] is None
