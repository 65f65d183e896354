"""The Live shop page: reading the runs `vitrina simulate live` wrote, and rendering one."""

from __future__ import annotations

from typing import Any

import pytest

from vitrina.adapters.reports import LATEST, report_folder
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.evaluation.live_report import DayRecord, DayTraffic, ModelChange, assemble
from vitrina.serving.console.live_view import changes, day_bars, list_runs, live_view, search_version_rows
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


def _search_versions() -> dict[str, Any]:
    """A ``search_versions`` section as the live run writes it: v2 judged against v1, v3's pair
    skipped (too few searches after its cut)."""
    ndcg = {
        "n": 412, "mean_a": 0.8095, "mean_b": 0.8180, "difference": 0.0085,
        "standard_error": 0.0021, "p_better": 0.00003, "p_worse": 0.99997, "verdict": "better",
    }  # fmt: skip
    return {
        "pairs": [
            {
                "version": "v2", "against": "v1", "relation": "first", "cut": "2026-11-25T00:00:00+00:00",
                "n_searches": 412, "metrics": {"truth_ndcg@10": ndcg}, "verdict": "better",
            },
            {
                "version": "v3", "against": "v2", "relation": "previous", "cut": "2026-11-27T00:00:00+00:00",
                "skipped": "fewer than 2 judged live searches after the cut",
            },
        ]
    }  # fmt: skip


def _write(settings: Settings, *run_ids: str, search_versions: dict[str, Any] | None = None) -> None:
    for run_id in run_ids:
        report = _report(run_id) | ({"search_versions": search_versions} if search_versions else {})
        for folder in (run_id, LATEST):
            write_json_atomic(report, f"{report_folder(settings, 'live', folder)}/metrics.json")


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


def test_search_version_rows_carry_the_paired_truth_comparison_or_why_it_was_skipped() -> None:
    assert search_version_rows(_report("r")) == []  # a run without the section
    judged, skipped = search_version_rows(_report("r") | {"search_versions": _search_versions()})
    assert (judged["version"], judged["against"], judged["cut"], judged["searches"]) == (
        "v2",
        "v1",
        "2026-11-25",
        412,
    )
    assert (judged["later"], judged["earlier"], judged["difference"]) == (0.8180, 0.8095, 0.0085)
    assert judged["verdict"] == "better"
    assert skipped["skipped"].startswith("fewer than 2")
    assert "later" not in skipped


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_page_shows_each_search_version_against_the_earlier_one(settings: Settings, lang: str) -> None:
    _write(settings, "20261203T090000Z", search_versions=_search_versions())
    view = live_view(settings)
    assert view.report is not None
    html = render_page(
        "live.html", lang=lang, page="live", served="", page_title="nav.live", other_lang_url="",
        view=view, charts=[], changes=[], search_versions=search_version_rows(view.report),
    )  # fmt: skip
    assert "0.8180" in html
    assert "0.8095" in html
    assert "+0.0085 ± 0.0021" in html
    assert {"en": "better", "es": "mejor"}[lang] in html
    assert {"en": "not judged: fewer than 2", "es": "no juzgada: fewer than 2"}[lang] in html
    without = render_page(
        "live.html", lang=lang, page="live", served="", page_title="nav.live", other_lang_url="",
        view=view, charts=[], changes=[], search_versions=[],
    )  # fmt: skip
    assert {"en": "No search version was judged", "es": "no se juzgó ninguna versión"}[lang] in without
