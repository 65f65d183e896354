"""Global SHAP importance of a LightGBM ranker, as a table, JSON and a bar plot.

LightGBM computes exact TreeSHAP values itself (``predict(..., pred_contrib=True)``): one
contribution per feature plus the expected value (last column), per row, summing to the
raw score. Global importance is the mean absolute contribution over a sample of candidate
rows — how far, on average, each feature moves a candidate's score — which unlike split
gain is in the units of the score and comparable across features.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from vitrina.core.artifacts.files import write_json_atomic


def shap_importance(booster: lgb.Booster, features: pd.DataFrame, num_threads: int = 1) -> pd.Series:
    """Mean |SHAP| per feature over the rows of ``features`` (columns matched by the booster's
    feature names), largest first. ``features`` must hold at least one row."""
    names = list(booster.feature_name())
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise ValueError(f"features lack columns the booster was trained on: {missing}")
    if len(features) == 0:
        raise ValueError("SHAP importance needs at least one row")
    contrib = np.asarray(
        booster.predict(features[names], pred_contrib=True, num_threads=num_threads), dtype=np.float64
    )
    if contrib.shape != (len(features), len(names) + 1):
        raise ValueError(f"unexpected pred_contrib shape {contrib.shape} for {len(names)} features")
    mean_abs = np.abs(contrib[:, :-1]).mean(axis=0)
    return pd.Series(mean_abs, index=names, name="mean_abs_shap").sort_values(ascending=False)


def write_importance(importance: pd.Series, folder: Path, title: str, top: int = 20) -> list[Path]:
    """``shap_importance.json`` (every feature) and ``shap_importance.png`` (the ``top`` ones)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "shap_importance.json"
    write_json_atomic({str(k): float(v) for k, v in importance.items()}, str(json_path))
    shown = importance.head(top)[::-1]
    figure = Figure(figsize=(7, 0.3 * len(shown) + 1.2), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.barh([str(k) for k in shown.index], shown.to_numpy(), color="#3b6ea5")
    axes.set_xlabel("mean |SHAP value| (raw ranker score)")
    axes.set_title(title)
    figure.tight_layout()
    png_path = folder / "shap_importance.png"
    figure.savefig(png_path)
    return [json_path, png_path]
