"""Design a network from a preset, see its summary and cost, and start training it."""

import pandas as pd
import streamlit as st

from core.networks import architecture, designer
from core.networks.config import ConfigError
from core.queue import scheduler
from core.runs import limits, reconcile
from core.ui import app_cache, design_form, messages, monitor, navigation, owner, session_keys

st.title(":material/model_training: Design and train")
design_form.preset_picker()
network, training = st.columns(2, gap="large")
with network:
    design_form.network_form()
with training:
    design_form.training_form()
design_form.share_link()

try:
    config = designer.config_from_values(design_form.config_values())
except ConfigError as error:
    st.error(f"This setting cannot be used: {messages.plain(error)}", icon=":material/error:")
    st.stop()

st.subheader("Model summary")
trainable, total = architecture.parameter_counts(config)
columns = st.columns(5)
columns[0].metric("Trainable parameters", f"{trainable:,}")
columns[1].metric("Model file", f"{architecture.model_file_size_bytes(config) / 1e6:.1f} MB")
columns[2].metric(
    "Training digits",
    f"{config.training_samples:,}",
    help=f"{config.validation_size:,} held out to validate on." if config.validation == "holdout" else None,
)
columns[3].metric("Training memory", f"~{architecture.training_memory_bytes(config) / 1e6:,.0f} MB")
columns[4].metric(
    "One epoch", f"~{architecture.epoch_seconds(config):,.0f} s", help="Estimated on a 2-core CPU."
)
st.caption(
    f"{designer.training_digits_note(config)} Trains on {app_cache.training_device(config.devices).label}."
)
# Every layer in view: a table that scrolls inside its box hides its last rows.
st.dataframe(
    pd.DataFrame(architecture.summary_rows(config)), hide_index=True, width="stretch", height="content"
)

user = owner.who()
refused = limits.refusal(config, user)
if refused:
    st.warning(refused, icon=":material/block:")
name = st.text_input("Run name (optional)", placeholder=config.describe(), max_chars=80)
if st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=bool(refused)):
    with messages.refusals_shown():
        run = scheduler.submit_run(config, name.strip() or None, who=user)
        st.session_state[session_keys.FOCUS_RUN] = run.id  # Runs, compare, run detail and export open on it.
        navigation.switch_to("runs")
recent = reconcile.reconcile_all()[:5]
if recent:
    st.subheader("Recent runs")
    st.dataframe(monitor.runs_table(recent), hide_index=True, width="stretch")
navigation.link("runs", "See training runs, live")
