"""Settings: the model price and tier table every cost and verdict is computed from.

Edits happen in a data editor and take effect only on Save, which checks the whole table,
writes it and recomputes every trajectory in one transaction. The editor's key carries a
generation number, so after a save it starts again from what the store now holds.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import fleet
from analysis.filters import TrajectoryFilter
from analysis.price_edits import (
    TIERS,
    PriceEditError,
    PriceEditResult,
    price_rows,
    reset_prices,
    save_prices,
)
from ui import format as fmt
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.fleet_common import load_kpis, page_header

MESSAGE_KEY = "settings_message"
GENERATION_KEY = "settings_editor_generation"
PRICE = "$%.3f"
EDITOR_COLUMNS = {
    "pattern": st.column_config.TextColumn(
        "Model pattern",
        required=True,
        help="SQL LIKE pattern, % is the wildcard; longest match wins",
    ),
    "tier": st.column_config.SelectboxColumn(
        "Tier", options=list(TIERS), help="Empty: derived from the listed price"
    ),
    "input_per_mtok": st.column_config.NumberColumn("Input $/Mtok", min_value=0.0, format=PRICE),
    "cached_input_per_mtok": st.column_config.NumberColumn(
        "Cached input $/Mtok", min_value=0.0, format=PRICE, help="Empty: billed at the input price"
    ),
    "cache_write_per_mtok": st.column_config.NumberColumn(
        "Cache write $/Mtok", min_value=0.0, format=PRICE, help="Empty: billed at the input price"
    ),
    "output_per_mtok": st.column_config.NumberColumn("Output $/Mtok", min_value=0.0, format=PRICE),
    "gpu_usd_per_hour": st.column_config.NumberColumn(
        "GPU $/hour",
        min_value=0.0,
        format="$%.2f",
        help="Self-hosted: cost = GPU $/hour × model time",
    ),
    "vram_gb": st.column_config.NumberColumn("VRAM GB", min_value=0.0, format="%.0f"),
    "source": st.column_config.TextColumn("Source"),
    "as_of": st.column_config.TextColumn("As of"),
}


@st.cache_data(max_entries=4)
def load_prices(version: str, generation: int) -> pl.DataFrame:
    return price_rows(connection())


@st.cache_data(max_entries=4)
def load_models_seen(version: str, generation: int) -> pl.DataFrame:
    return fleet.model_stats(connection()).select("model", "tier", "price_pattern", "calls")


def apply(action, label: str) -> None:
    """Run a save or reset with its progress shown; refresh every cached figure after it."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)

        def step(message: str, done: float) -> None:
            bar.progress(done, text=message)

        try:
            result: PriceEditResult = action(step)
        except PriceEditError as error:
            status.update(label="Not saved", state="error")  # not left reading "Saving…"
            problems = "\n".join(f"- {problem}" for problem in error.problems)
            st.error(f"Nothing was saved. Fix these and save again:\n\n{problems}")
            return
        status.update(label="Saved", state="complete")
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    st.session_state[MESSAGE_KEY] = (
        f"Saved {result.price_rows} price rows and recomputed {result.trajectories:,} trajectories."
    )
    st.rerun()


def show_editor(generation: int) -> pl.DataFrame:
    prices = load_prices(data_version(), generation)
    return st.data_editor(
        prices,
        key=f"prices_editor_{generation}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        height=520,
        column_config=EDITOR_COLUMNS,
        placeholder="",  # an empty price means what its column's help says, not "None"
    )


def show_reset() -> None:
    with st.popover("Reset to defaults", icon=":material/restart_alt:"):
        st.write(
            "Replace the whole table with the prices shipped with AgentTime and recompute "
            "every trajectory. Your edits are lost."
        )
        if st.button("Reset prices and tiers", type="primary", key="reset_prices"):
            apply(lambda step: reset_prices(connection(), step), "Resetting to defaults…")


def show_models_seen(generation: int) -> None:
    seen = load_models_seen(data_version(), generation)
    if not seen.height:
        return
    st.subheader("Models in your traces")
    unpriced = seen.filter(pl.col("price_pattern").is_null())["model"].to_list()
    if unpriced:
        st.warning(
            f"{len(unpriced)} model(s) match no pattern: their cost is what the trace reported, "
            "or not recorded, and they have no tier. Add a row for them above."
        )
    st.dataframe(
        seen,
        hide_index=True,
        width="stretch",
        column_config={
            "model": "Model",
            "tier": "Tier used",
            "price_pattern": "Priced by pattern",
            "calls": st.column_config.NumberColumn("Calls", format="%,d"),
        },
        placeholder=fmt.MISSING_CELL,
    )


page_header(
    "Settings",
    "settings",
    "Model prices (USD per million tokens) and tiers. Cost, waste dollars, escalations and "
    "verdicts are all computed from this table: Save recomputes every trajectory.",
)
st.caption(
    "A pattern matches model names with SQL LIKE (`%` = anything, case-insensitive); the "
    "longest matching pattern wins. An empty cached or cache-write price bills those tokens at "
    "the input price. An empty tier is derived from the listed price (input + output): under "
    "$3/Mtok small, under $10 medium, else large. Self-hosted rows without token prices cost "
    "GPU $/hour × model time."
)
if load_kpis(data_version(), TrajectoryFilter()).trajectories == 0:
    show_empty_store()
if message := st.session_state.pop(MESSAGE_KEY, None):
    st.success(message, icon=":material/check_circle:")
generation = st.session_state.get(GENERATION_KEY, 0)
edited = show_editor(generation)
save_col, reset_col = st.columns([1, 5])
if save_col.button("Save", type="primary", icon=":material/save:", key="save_prices"):
    rows = edited.to_dicts()
    apply(lambda step: save_prices(connection(), rows, step), "Saving prices…")
with reset_col:
    show_reset()
show_models_seen(generation)
