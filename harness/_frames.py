"""Rows of a frame as dicts, for the loops over them that analysis and the report's sections run."""

from __future__ import annotations

from typing import Any

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, built column by column: the same Python values, at a
    fraction of the cost (``to_dict`` boxes every value on its own, and ``iterrows`` builds
    a Series per row: both far too slow for 10,000 rows)."""
    if frame.empty:
        return []
    columns = {c: frame[c].tolist() for c in frame.columns}
    return [dict(zip(columns, values)) for values in zip(*columns.values())]
