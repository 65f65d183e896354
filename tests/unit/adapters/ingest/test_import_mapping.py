"""The mapping file on its own (no data read): every mistake is one message naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrina.adapters.ingest.mapping import MappingError, load_mapping, parse_mapping

pytestmark = pytest.mark.unit

GOOD = """\
name: shop
sources:
  lines: {path: lines.csv}
tables:
  judgments:
    from: lines
    columns:
      query: q
      product_id: {column: p}
      grade: "g - 1"
"""


def line_of(text: str, marker: str) -> int:
    """The 1-based line of ``text`` holding ``marker`` (exactly one must)."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(found) == 1, (marker, found)
    return found[0]


def failure(text: str) -> MappingError:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "m.yaml")
    return caught.value


def test_a_good_mapping_keeps_its_tables_in_order_and_the_lines_of_its_keys() -> None:
    mapping, lines = parse_mapping(GOOD, "m.yaml")
    assert list(mapping.tables) == ["judgments"]
    assert mapping.sources["lines"].format == "csv"  # from the extension
    assert lines.line(("tables", "judgments", "columns", "grade")) == line_of(GOOD, "grade:")
    assert lines.line(("tables", "judgments", "columns", "product_id", "column")) == line_of(
        GOOD, "product_id"
    )


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        (
            "      query: q\n",
            "      query: q\n      querry: q\n",
            "querry",
            "not a canonical column of judgments",
        ),
        ("{column: p}", "{colum: p}", "colum: p", "unknown key 'colum'"),
        ("    from: lines\n", "    from: lines\n    filterz: []\n", "filterz", "unknown key 'filterz'"),
        ("{path: lines.csv}", "{path: lines.csv, delimitr: ';'}", "delimitr", "unknown key 'delimitr'"),
        ("  judgments:\n", "  orders:\n", "orders:", "'orders' is not a canonical table"),
        (
            "    from: lines\n",
            "    from: linez\n",
            "linez",
            "from 'linez' is neither a source nor an earlier table",
        ),
        ('      grade: "g - 1"\n', "", "columns:", "no mapping for the canonical column grade"),
        ("{path: lines.csv}", "{path: lines.xlsx}", "lines.xlsx", "say which format"),
        ("{path: lines.csv}", "{path: lines.csv, format: excel}", "format: excel", "format must be one of"),
        ("{column: p}", "{column: p, constant: x}", "constant: x", "exactly one of column, sql or constant"),
        ("{column: p}", "{constant: x, format: '%Y'}", "constant: x", "a constant takes no format"),
        ("name: shop\n", "name: Shop Name\n", "Shop Name", "name"),
        ("name: shop\n", "", "sources:", "'name' is required"),
        ("name: shop\n", "name: shop\nname: other\n", "name: other", "'name' is given twice"),
        ("{path: lines.csv}", "{path: lines.csv", "lines.csv", "flow mapping opened here"),
        ("      query: q\n", "     query: q\n", "product_id", "not valid YAML"),
    ],
)
def test_a_mistake_is_one_message_on_its_line(old: str, new: str, marker: str, expected: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    error = failure(text)
    assert error.line == line_of(text, marker), str(error)
    assert expected in error.detail, str(error)
    assert str(error).startswith(f"m.yaml:{error.line}: ")
    assert "\n" not in str(error)


def test_filters_take_one_rule_and_sessions_only_on_tables_that_have_them() -> None:
    text = GOOD.replace(
        "    from: lines\n",
        "    from: lines\n    filters:\n      - {reason: odd, when: x, duplicates: true}\n",
    )
    error = failure(text)
    assert error.line == line_of(text, "odd")
    assert "give exactly one of when or duplicates" in error.detail
    text = GOOD.replace("    from: lines\n", "    from: lines\n    sessions: {gap_minutes: 30}\n")
    error = failure(text)
    assert error.line == line_of(text, "sessions")
    assert "judgments has no user_id, ts, session_id" in error.detail


def test_a_derived_session_id_cannot_also_be_given() -> None:
    text = """\
name: shop
sources:
  ratings: {path: r.csv}
tables:
  events:
    from: ratings
    sessions: {gap_minutes: 30}
    columns: {event_id: e, user_id: u, product_id: p, event_type: t, ts: s, device: d, page: g,
              session_id: x}
"""
    error = failure(text)
    assert error.line == line_of(text, "session_id: x")
    assert "derived by sessions" in error.detail


def test_a_table_may_only_read_tables_built_before_it() -> None:
    text = GOOD.replace(
        "tables:\n", "tables:\n  catalog:\n    from: judgments\n    columns: {product_id: product_id}\n"
    )
    error = failure(text)
    assert error.line == line_of(text, "from: judgments")
    assert "built later" in error.detail


def test_a_source_may_not_share_a_name_with_a_table() -> None:
    text = GOOD.replace("  lines: {path: lines.csv}", "  judgments: {path: lines.csv}").replace(
        "from: lines", "from: judgments"
    )
    error = failure(text)
    assert error.line == line_of(text, "judgments: {path")


def test_environment_variables_are_expanded_and_an_unset_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = GOOD.replace("{path: lines.csv}", "{path: '${SHOP_FILE}'}")
    monkeypatch.setenv("SHOP_FILE", "from-env.csv")
    mapping, _ = parse_mapping(text, "m.yaml")
    assert mapping.sources["lines"].path == "from-env.csv"  # type: ignore[union-attr]
    monkeypatch.delenv("SHOP_FILE")
    error = failure(text)
    assert error.line == line_of(text, "SHOP_FILE")
    assert "SHOP_FILE is not set" in error.detail
    defaulted = GOOD.replace("{path: lines.csv}", "{path: '${SHOP_FILE:-fallback.csv}'}")
    assert parse_mapping(defaulted, "m.yaml")[0].sources["lines"].path == "fallback.csv"  # type: ignore[union-attr]


def test_yaml_anchors_share_filters_between_tables() -> None:
    text = """\
name: shop
sources:
  lines: {path: lines.csv}
tables:
  judgments:
    from: lines
    filters: &same
      - {reason: no query, when: "q IS NULL"}
    columns: {query: q, product_id: p, grade: g}
  catalog:
    from: lines
    filters: *same
    columns: {product_id: p, title: t, category_l1: c, category_l2: c, category_l3: c, price: 1.0,
              stock: 1, seller_id: s, created_at: a, updated_at: a, is_sponsored: false, is_reported: false}
"""
    mapping, _ = parse_mapping(text, "m.yaml")
    assert mapping.tables["catalog"].filters == mapping.tables["judgments"].filters


def test_the_root_is_taken_from_the_mapping_folder_or_from_data(tmp_path: Path) -> None:
    folder = tmp_path / "examples" / "shop"
    folder.mkdir(parents=True)
    (tmp_path / "data").mkdir()
    path = folder / "mapping.yaml"
    path.write_text(GOOD.replace("sources:", "root: ../../data\nsources:"), encoding="utf-8")
    assert load_mapping(path).root == (tmp_path / "data").resolve()
    assert load_mapping(path, data_dir=folder).root == folder.resolve()
    error = None
    try:
        load_mapping(path, data_dir=tmp_path / "nowhere")
    except MappingError as caught:
        error = caught
    assert error is not None
    assert "--data" in error.detail
    path.write_text(GOOD.replace("sources:", "root: ../missing\nsources:"), encoding="utf-8")
    with pytest.raises(MappingError, match=r"mapping.yaml:2: root: .* is not a folder"):
        load_mapping(path)
