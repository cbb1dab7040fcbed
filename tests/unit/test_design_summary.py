"""What the train page's summary says about the digits a design trains on."""

from core.networks import designer
from core.networks.config import ModelConfig


def test_the_hold_out_is_said_where_it_is_taken():
    note = designer.training_digits_note(ModelConfig(train_limit=12_000, validation_size=5_000))
    assert note == "Training digits: 7,000 = 12,000 chosen minus the 5,000 held out to validate on."
    assert "all 60,000 minus the 5,000 held out" in designer.training_digits_note(ModelConfig())
    on_test = designer.training_digits_note(ModelConfig(validation="test"))
    assert on_test == "Training digits: all 60,000; validation uses the 10,000 test digits."
