"""The Live shop page: reading the runs `vitrina simulate live` wrote, and rendering one."""

from __future__ import annotations

from typing import Any

import pytest

from vitrina.adapters.reports import LATEST, report_folder
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.evaluation.live_report import DayRecord, DayTraffic, ModelChange, assemble
from vitrina.serving.console.live_view import changes, day_bars, list_runs, live_view
from vitrina.serving.console.render import render_page

pytestmark = pytest.mark.unit


def _report(run_id: str) -> dict[str, Any]:
    days = [
        DayRecord(0, "2026-11-30", DayTraffic(sessions=10, clicked_sessions=4, converted_sessions=1)),
        DayRecord(1, "2026-12-01", DayTraffic(sessions=8, clicked_sessions=2), drifted=True),
    ]
    return assemble(
        run_id=run_id,
        config={"days": 2, "scale": "ci"},
        days=days,
        failed_steps=[{"day": 1, "pipeline": "recs", "step": "train", "detail": "OSError: disk full"}],
        promotions=[ModelChange("vitrina-recs", "7", 1, "canary passed at 100 %")],
        rollbacks=[ModelChange("vitrina-recs", "6", 0, "ctr below its lower bound")],
        new_products=[
            {
                "product_id": "p-new-1",
                "day_added": 0,
                "first_day_recommended": 1,
                "first_day_found": 0,
                "first_day_reachable_recs": 1,
                "first_day_reachable_search": 2,
            },
            {"product_id": "p-new-2", "day_added": 1, "first_day_recommended": None, "first_day_found": None},
        ],
        drift_day=1,
    )


def _write(settings: Settings, *run_ids: str) -> None:
    for run_id in run_ids:
        for folder in (run_id, LATEST):
            write_json_atomic(_report(run_id), f"{report_folder(settings, 'live', folder)}/metrics.json")


def test_runs_are_listed_newest_first_and_the_latest_is_shown_by_default(settings: Settings) -> None:
    assert list_runs(settings) == []
    assert live_view(settings).report is None
    _write(settings, "20261201T100000Z", "20261203T090000Z")
    assert list_runs(settings) == ["20261203T090000Z", "20261201T100000Z"]
    view = live_view(settings)
    assert view.report is not None
    assert view.report["run_id"] == "20261203T090000Z"
    older = live_view(settings, "20261201T100000Z")
    assert older.report is not None
    assert older.report["run_id"] == "20261201T100000Z"
    with pytest.raises(KeyError):
        live_view(settings, "20990101T000000Z")


def test_day_bars_star_the_drifted_days_and_changes_come_in_day_order() -> None:
    report = _report("r")
    assert day_bars(report, "ctr") == [("0 · 2026-11-30", 0.4), ("1 * · 2026-12-01", 0.25)]
    assert [(c["day"], c["kind"], c["version"]) for c in changes(report)] == [
        (0, "rollbacks", "6"),
        (1, "promotions", "7"),
    ]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_page_shows_failures_model_changes_and_new_products(settings: Settings, lang: str) -> None:
    _write(settings, "20261203T090000Z")
    view = live_view(settings)
    assert view.report is not None
    html = render_page(
        "live.html", lang=lang, page="live", served="", page_title="nav.live", other_lang_url="",
        view=view, charts=[], changes=changes(view.report),
    )  # fmt: skip
    assert "disk full" in html
    assert "p-new-1" in html
    assert "p-new-2" in html
    assert "ctr below its lower bound" in html
    assert "canary passed" in html
    reach = {"en": "recs 1/2, search 0/2", "es": "recomendaciones 1/2, búsqueda 0/2"}
    assert reach[lang] in html  # p-new-1 was in a list one cycle after arriving, found two
    assert html.count('class="failed"') == 2  # the summary line and the step's row
    empty = render_page(
        "live.html", lang=lang, page="live", served="", page_title="nav.live", other_lang_url="",
        view=live_view(get_settings(home=settings.home.parent / "empty-home")),
        charts=[], changes=[],
    )  # fmt: skip
    assert "simulate live --days N" in empty
