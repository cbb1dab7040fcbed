"""The train page's design form: one widget per setting, keyed `design_<designer key>`.

Network settings are drawn from their family's declared groups and fields (core/networks/families),
training settings from their declarations (core/networks/training.py), so a new family or setting
needs no change here; `core.networks.designer` turns the widget values back into a config.
"""

import itertools

import streamlit as st

from core.networks import designer
from core.networks.config import FAMILIES, ConfigError
from core.networks.families.base import Family, Field, Group
from core.networks.training import TRAINING_FIELDS, TrainingField
from core.runs import user_presets
from core.ui import messages, url_state
from core.ui.session_keys import DESIGN_PREFIX as PREFIX


def preset_picker() -> None:
    """Start from a preset: choosing one writes every widget of the form."""

    presets = user_presets.all_presets()

    def load_preset() -> None:
        values = designer.widget_values(presets[st.session_state.design_preset].config)
        st.session_state.update({PREFIX + key: value for key, value in values.items()})

    if "design_preset" not in st.session_state:
        st.session_state.design_preset = "seed-mlp"
        load_preset()
    open_link()
    if st.session_state.design_preset not in presets:  # A saved preset replaced meanwhile.
        st.session_state.design_preset = "seed-mlp"
    st.selectbox(
        "Start from a preset",
        list(presets),
        format_func=lambda key: presets[key].label,
        key="design_preset",
        on_change=load_preset,
    )
    st.caption(messages.plain(presets[st.session_state.design_preset].description))


def open_link() -> None:
    """A design link opened sets the form (it wins over what this session held), unless the
    design it describes cannot be used: then the form keeps its settings and says why."""
    current = config_values()
    settings = url_state.opened_link(PREFIX, {PREFIX + key: value for key, value in current.items()})
    if not settings:
        return
    try:
        values = designer.from_link({key[len(PREFIX) :]: value for key, value in settings.items()}, current)
    except ConfigError as error:
        st.warning(
            f"The design in this link cannot be used: {messages.plain(error)}", icon=":material/link_off:"
        )
        return
    if settings.get("design_preset") in user_presets.all_presets():  # The preset it started from.
        values["preset"] = settings["design_preset"]
    st.session_state.update({PREFIX + key: value for key, value in values.items()})


def share_link() -> None:
    """The design in the address bar: copying it shares this network and its training."""
    values = {"preset": st.session_state.design_preset, **designer.link_values(config_values())}
    url_state.share_in_url(PREFIX, {PREFIX + key: value for key, value in values.items()})
    st.caption(":material/link: The address bar holds this design: copy it to share it.")


def config_values() -> dict:
    """The form's values by designer key."""
    return {key[len(PREFIX) :]: value for key, value in st.session_state.items() if key.startswith(PREFIX)}


def number(label: str, key: str, bounds: tuple, step=1, **kwargs):
    """A bounded number input; a value left outside new bounds (e.g. by a preset) is clamped."""
    st.session_state[PREFIX + key] = min(max(st.session_state[PREFIX + key], bounds[0]), bounds[1])
    return st.number_input(label, bounds[0], bounds[1], step=step, key=PREFIX + key, **kwargs)


def field_widget(field: Field, key: str, label: str) -> None:
    """The widget for one network setting, from its declaration in its family's module."""
    if field.kind == "bool":
        st.checkbox(label, key=PREFIX + key)
    elif field.kind == "choice":
        st.selectbox(label, field.choices, key=PREFIX + key)
    elif field.kind == "float":
        st.slider(label, *field.bounds, step=field.step, key=PREFIX + key)
    else:
        number(label, key, field.bounds, step=field.step)


def group_widgets(family: Family, group: Group) -> None:
    """One row of widgets per item: a single item (a dense head) or a list (conv blocks)."""
    if group.count is None:
        rows = [(group.label, None)]
    else:
        count = st.slider(f"{group.label}s", *group.count, key=PREFIX + designer.count_key(family, group))
        rows = [(f"{group.label} {index + 1}", index) for index in range(count)]
    # A row's checkboxes share one column, stacked: one column each cut their labels to "bat...".
    values = [field for field in group.fields if field.kind != "bool"]
    checks = [field for field in group.fields if field.kind == "bool"]
    for title, index in rows:
        columns = st.columns(len(values) + bool(checks), vertical_alignment="bottom")
        for position, (column, field) in enumerate(zip(columns, values, strict=False)):
            with column:
                label = f"{title} {field.label}" if position == 0 else field.label
                field_widget(field, designer.group_key(family, group, field.name, index), label)
        for field in checks:
            with columns[-1]:
                field_widget(field, designer.group_key(family, group, field.name, index), field.label)


def network_form() -> None:
    """The family picker and the chosen family's settings, from its declared groups."""
    st.subheader("Network")
    architecture_choice = st.radio(
        "Architecture",
        list(FAMILIES),
        format_func=lambda name: FAMILIES[name].label,
        horizontal=True,
        key=PREFIX + "architecture",
    )
    chosen = FAMILIES[architecture_choice]
    for group in chosen.groups:
        group_widgets(chosen, group)


def training_widget(field: TrainingField) -> None:
    """The widget for one training setting, from its declaration in core/networks/training.py."""
    key, hint = PREFIX + field.name, field.help or None
    if field.kind == "bool":
        st.toggle(field.label, key=key, help=hint)
    elif field.kind == "choice":
        st.selectbox(field.label, field.choices, format_func=designer.CHOICE_LABELS.get, key=key, help=hint)
    elif field.kind == "float" and not field.format:
        st.slider(field.label, *field.bounds, step=field.step, key=key, help=hint)
    else:
        number(
            field.label,
            field.name,
            widget_bounds(field),
            step=field.step,
            format=field.format or None,
            help=hint,
        )


def widget_bounds(field: TrainingField) -> tuple:
    """A setting's declared bounds, but warm-up epochs (shown with a warm-up schedule) from 1 to
    below the epochs, as ModelConfig.validate checks."""
    if field.name == "warmup_epochs":
        return (1, max(1, st.session_state[PREFIX + "epochs"] - 1))
    return field.bounds


def training_form() -> None:
    """Optimiser, schedule, data and seed: the settings every family shares, in the columns their
    declarations name. A switch's several settings (the augmentation amounts) sit two to a row."""
    st.subheader("Training")
    columns = st.columns(2)
    placed = itertools.groupby(TRAINING_FIELDS.values(), key=lambda field: (field.column, field.shown_when))
    for (column, shown_when), run in placed:
        if shown_when and st.session_state[PREFIX + shown_when[0]] != shown_when[1]:
            continue
        fields = list(run)
        with columns[column]:
            if shown_when and len(fields) > 1:
                for start in range(0, len(fields), 2):
                    for cell, field in zip(st.columns(2), fields[start : start + 2], strict=False):
                        with cell:
                            training_widget(field)
            else:
                for field in fields:
                    training_widget(field)
