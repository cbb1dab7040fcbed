"""Every declared training setting reaches every user of the declaration.

core/networks/training.py declares each training setting once; ModelConfig validates it, the
designer writes and reads its widget, a search space may vary it and config.json keeps it. Adding a
setting touches that declaration (and gives ModelConfig its default): these tests fail until every
user picks it up.
"""

import json
from dataclasses import fields

import pytest

from core.networks import designer
from core.networks.config import ConfigError, ModelConfig
from core.networks.training import MOST_EPOCHS, TRAINING_FIELDS, TrainingField
from core.search import space

# Long enough that any warm-up within its declared bounds stays below the epochs.
BASE = ModelConfig(epochs=MOST_EPOCHS)
DECLARED = list(TRAINING_FIELDS.values())


def another_value(field: TrainingField, current):
    """A valid value of `field` other than `current`: its other switch position, another choice or
    the far end of its bounds."""
    if field.kind == "bool":
        return not current
    if field.kind == "choice":
        return next(choice for choice in field.choices if choice != current)
    low, high = field.bounds
    return high if current == low else low


def out_of_bounds(field: TrainingField) -> list:
    if field.kind == "bool":
        return [None, "yes"]
    if field.kind == "choice":
        return ["not-a-choice", None]
    low, high = field.bounds
    return [low - 1, high + 1, str(low)]


def test_modelconfig_holds_exactly_the_declared_settings():
    assert set(TRAINING_FIELDS) == {f.name for f in fields(ModelConfig)} - {"network"}


@pytest.mark.parametrize("field", DECLARED, ids=lambda field: field.name)
def test_the_config_refuses_a_value_outside_the_declaration(field):
    BASE.with_changes(**{field.name: another_value(field, getattr(BASE, field.name))})
    for value in out_of_bounds(field):
        with pytest.raises(ConfigError) as error:
            BASE.with_changes(**{field.name: value})
        assert error.value.field == field.name, (value, str(error.value))


@pytest.mark.parametrize("field", DECLARED, ids=lambda field: field.name)
def test_the_designer_writes_and_reads_back_the_setting(field):
    changed = BASE.with_changes(**{field.name: another_value(field, getattr(BASE, field.name))})
    values = designer.widget_values(changed)
    assert values[field.name] == getattr(changed, field.name)
    assert designer.config_from_values(values) == changed
    assert field.name in designer.link_values(values)


@pytest.mark.parametrize("field", DECLARED, ids=lambda field: field.name)
def test_a_search_may_vary_the_setting_or_it_is_declared_unsearchable(field):
    assert field.search in ("never", "allowed", "default")
    default = space.default_space(BASE)
    assert (field.name in default.training) == (field.search == "default")
    if field.search == "never":
        with pytest.raises(ConfigError, match=f"training.'{field.name}': is unknown"):
            space.parse_space({"training": {field.name: {"choices": [getattr(BASE, field.name)]}}}, BASE)
        return
    bounds = {"choices": [another_value(field, getattr(BASE, field.name))]}
    parsed = space.parse_space({"training": {field.name: bounds}}, BASE)
    assert parsed.training[field.name].choices == tuple(bounds["choices"])
    picked = space.sample(BASE, parsed, ask=lambda name, bounds: pytest.fail(f"{name} is fixed"))
    assert getattr(picked, field.name) == bounds["choices"][0]


@pytest.mark.parametrize("field", DECLARED, ids=lambda field: field.name)
def test_the_setting_survives_config_json(field):
    changed = BASE.with_changes(**{field.name: another_value(field, getattr(BASE, field.name))})
    assert ModelConfig.from_dict(json.loads(json.dumps(changed.to_dict()))) == changed


def test_every_choice_has_a_label_on_the_form():
    choices = {choice for field in DECLARED for choice in field.choices}
    assert choices - set(designer.CHOICE_LABELS) == set()
