"""Exposure propensities grow with logged impressions; inverse-propensity weights lift the
positives the logging policy rarely showed, and leave negatives alone."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.ranking.interactions import EVENT_CODE, Interactions
from vitrina.core.recs.exposure import ips_weights, item_propensity

pytestmark = pytest.mark.unit


def events(items: list[int], kinds: list[str]) -> Interactions:
    n = len(items)
    return Interactions(
        user=np.zeros(n, dtype=np.int64),
        item=np.asarray(items, dtype=np.int64),
        event=np.asarray([EVENT_CODE[k] for k in kinds], dtype=np.int64),
        ts_us=np.arange(n, dtype=np.int64),
        session=np.zeros(n, dtype=np.int64),
        position=np.ones(n, dtype=np.int64),
        page=np.full(n, "home"),
    )


def test_propensity_follows_impressions_and_eta() -> None:
    # item 0 shown 7 times, item 1 three times, item 2 once but clicked often, item 3 never
    log = events([0] * 7 + [1] * 3 + [2] + [2] * 5, ["view"] * 11 + ["click"] * 5)
    theta = item_propensity(log, 4, eta=0.5)
    assert theta[0] == pytest.approx(1.0)
    assert theta[0] > theta[1] > theta[2] > theta[3] > 0  # clicks are not exposures
    assert theta[2] == pytest.approx(np.sqrt(2 / 8))
    assert np.array_equal(item_propensity(log, 4, eta=0.0), np.ones(4))
    stronger = item_propensity(log, 4, eta=1.0)
    assert (stronger <= theta).all()
    assert stronger[3] < theta[3]
    with pytest.raises(ValueError, match="eta"):
        item_propensity(log, 4, eta=1.5)


def test_weights_lift_rarely_shown_positives_and_keep_negatives() -> None:
    theta = np.array([1.0, 0.5, 0.1])
    labels = np.array([1, 2, 1, 0, 0])
    items = np.array([0, 1, 2, 2, 0])
    weights = ips_weights(labels, items, theta)
    assert weights[3:].tolist() == [1.0, 1.0]
    assert weights[:3].mean() == pytest.approx(1.0)
    assert weights[2] / weights[0] == pytest.approx(10.0)
    assert weights[1] / weights[0] == pytest.approx(2.0)
    assert ips_weights(np.zeros(3, dtype=np.int64), np.arange(3), theta).tolist() == [1.0] * 3
    with pytest.raises(ValueError, match="same shape"):
        ips_weights(labels, items[:2], theta)


def test_a_shop_that_logs_no_impressions_gets_no_correction() -> None:
    # orders only: purchases, never a view; every propensity is 1 and every weight stays 1
    log = events([0, 0, 1, 2, 2, 2], ["purchase"] * 6)
    theta = item_propensity(log, 4, eta=0.25)
    assert np.array_equal(theta, np.ones(4))
    labels = np.array([1, 0, 2, 1, 0])
    assert ips_weights(labels, np.array([0, 1, 2, 3, 3]), theta).tolist() == [1.0] * 5
