"""A shared link opened in a browser: its design is in the designer, and a change goes in the URL."""

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

DESIGN = (
    "design_architecture=cnn&design_cnn_conv_blocks_count=3&design_cnn_conv_blocks_filters_2=48"
    "&design_epochs=7"
)


def test_open_a_design_link_and_see_it_in_the_designer(page, app_url):
    page.goto(f"{app_url}/train?{DESIGN}")
    expect(page.get_by_role("radio", name="CNN", exact=True)).to_be_checked()
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("7")
    expect(page.get_by_label("Block 3 filters", exact=True)).to_have_value("48")
    expect(page.get_by_label("Run name (optional)")).to_have_attribute(
        "placeholder", "CNN 32c3-64c3-48c3 / 128"
    )

    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("9")
    epochs.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('design_epochs') === '9'")
    shared = parse_qs(urlparse(page.url).query)
    assert shared["design_architecture"] == ["cnn"] and shared["design_cnn_conv_blocks_filters_2"] == ["48"]
    assert all(key.startswith("design_") for key in shared)
