"""Shareable links through AppTest: a link opened sets the designer and the explorer; after
that the user's changes win and go in the URL; nothing but settings goes there."""

import pytest

from tests.app import open_page

CNN_LINK = {
    "design_architecture": "cnn",
    "design_cnn_conv_blocks_count": "3",
    "design_cnn_conv_blocks_filters_2": "48",
    "design_epochs": "7",
    "design_augment": "true",
    "design_preset": "fast-cnn",
}


pytestmark = pytest.mark.usefixtures("runs_dir")


def test_a_design_link_sets_the_designer():
    app = open_page("train", query=CNN_LINK)
    assert app.radio(key="design_architecture").value == "cnn"
    assert app.slider(key="design_cnn_conv_blocks_count").value == 3
    assert app.number_input(key="design_cnn_conv_blocks_filters_2").value == 48
    assert app.number_input(key="design_epochs").value == 7
    assert app.toggle(key="design_augment").value is True
    assert app.selectbox(key="design_preset").value == "fast-cnn"
    assert any("copy it to share" in caption.value for caption in app.caption)


def test_after_a_link_the_users_change_wins_and_goes_in_the_url():
    app = open_page("train", query=CNN_LINK)
    app.number_input(key="design_epochs").set_value(9).run()
    assert app.number_input(key="design_epochs").value == 9
    assert app.query_params["design_epochs"] == "9"
    app.radio(key="design_architecture").set_value("mlp").run()
    assert app.radio(key="design_architecture").value == "mlp"
    assert app.query_params["design_architecture"] == "mlp"
    assert not any(key.startswith("design_cnn") for key in app.query_params)


def test_the_url_holds_settings_only():
    app = open_page("train")
    assert app.query_params["design_architecture"] == "mlp"
    assert all(key.startswith("design_") for key in app.query_params)
    assert not any(key in str(app.query_params) for key in ("owner", "password", "visitor_session"))


def test_a_design_link_that_cannot_be_used_changes_nothing():
    app = open_page("train", query={"design_architecture": "cnn", "design_epochs": "100000"})
    assert "cannot be used" in app.warning[0].value and "epochs" in app.warning[0].value
    assert app.radio(key="design_architecture").value == "mlp"
    assert app.query_params["design_architecture"] == "mlp"


def test_an_explorer_link_sets_the_filters():
    query = {"explore_split": "test", "explore_digits": ["3", "5"], "explore_page": "2", "explore_seed": "7"}
    app = open_page("explore", query=query)
    assert app.radio(key="explore_split").value == "test"
    assert app.multiselect(key="explore_digits").value == [3, 5]
    assert app.number_input(key="explore_page").value == 2
    assert app.number_input(key="explore_seed").value == 7
    app.multiselect(key="explore_digits").set_value([4]).run()
    assert app.multiselect(key="explore_digits").value == [4]
    assert app.query_params["explore_digits"] == "4"
    assert app.query_params["explore_split"] == "test"


def test_a_url_from_before_a_quick_change_does_not_undo_it():
    """A second change can reach the server with the URL from before the first one's."""
    app = open_page("train", query=CNN_LINK)
    before = dict(app.query_params)
    app.number_input(key="design_batch_size").set_value(64).run()
    app.query_params = dict(before)
    app.number_input(key="design_epochs").set_value(11).run()
    assert app.number_input(key="design_batch_size").value == 64
    assert app.number_input(key="design_epochs").value == 11
    assert (app.query_params["design_batch_size"], app.query_params["design_epochs"]) == ("64", "11")


def test_a_link_opened_in_a_session_that_changed_a_setting_wins():
    app = open_page("train")
    app.number_input(key="design_epochs").set_value(9).run()
    assert app.query_params["design_epochs"] == "9"
    app.query_params = dict(CNN_LINK)  # A new link opened in this session: its epochs are 7.
    app.run()
    assert app.number_input(key="design_epochs").value == 7
    assert app.radio(key="design_architecture").value == "cnn"
    assert app.number_input(key="design_cnn_conv_blocks_filters_2").value == 48
    assert app.query_params["design_epochs"] == "7"
    app.number_input(key="design_epochs").set_value(12).run()  # Then the user's change wins again.
    assert app.number_input(key="design_epochs").value == 12 and app.query_params["design_epochs"] == "12"
