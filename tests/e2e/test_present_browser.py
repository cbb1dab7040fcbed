"""A presenter opens /present on a projector (1920x1080) and on a small laptop screen (1280x720):
the canvas and the answer fit without scrolling, no text on the whole page is smaller than 20 px,
and a digit drawn with the mouse is answered in large type; with a second model beside the first,
both answers still fit the small screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.runs import layout, registry
from core.ui import stage
from tests import tiny_models

MODEL_LOAD_TIMEOUT_MS = 120_000
ANSWER_TIMEOUT_MS = 30_000

# Every visible piece of text in the viewport, with its rendered font size, shadow roots included;
# text for screen readers only (in a box of 1 px or less that hides what overflows) is not seen.
VISIBLE_TEXT_SIZES = """() => {
  const found = [];
  const screenReaderOnly = element => {
    for (let n = element; n; n = n.parentElement) {
      const box = n.getBoundingClientRect();
      if ((box.width <= 1 || box.height <= 1) && getComputedStyle(n).overflow !== 'visible') return true;
    }
    return false;
  };
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const element of roots[i].querySelectorAll('*')) {
      if (element.shadowRoot) roots.push(element.shadowRoot);
    }
  }
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const element = node.parentElement;
      if (!node.textContent.trim() || !element || element.closest('style, script, title')) continue;
      if (!element.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
      if (screenReaderOnly(element)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const onScreen = [...range.getClientRects()].some(r => r.width > 0 && r.height > 0
        && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth);
      if (onScreen) found.push([parseFloat(getComputedStyle(element).fontSize), node.textContent.trim()]);
    }
  }
  return found;
}"""

# How wide an input's value is drawn, and how wide the input's room for it is.
TEXT_AND_ROOM = """e => {
  const style = getComputedStyle(e), context = document.createElement('canvas').getContext('2d');
  context.font = style.font;
  return [context.measureText(e.value).width,
          e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
}"""


def bottom_right(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"], box["y"] + box["height"]


def assert_fits(page, locator, viewport) -> None:
    right, bottom = bottom_right(locator)
    assert right <= viewport["width"] and bottom <= viewport["height"], (right, bottom, viewport)


def assert_readable(page) -> None:
    sizes = page.evaluate(VISIBLE_TEXT_SIZES)
    assert sizes, "no text found"
    smallest = min(sizes)
    assert smallest[0] >= stage.MIN_FONT_PX, f"{smallest[1]!r} is {smallest[0]} px"


def assert_readable_everywhere(page) -> None:
    """`assert_readable` on every screenful of the page, scrolled from top to bottom (the look
    inside below the stage included), then back to the top."""
    main = page.get_by_test_id("stMain")  # Streamlit's scrolling element, not the window.
    height, screen = main.evaluate("m => [m.scrollHeight, m.clientHeight]")
    last = max(height - screen, 0)
    for top in [*range(0, last, screen), last]:
        main.evaluate("(m, top) => m.scrollTo(0, top)", top)
        page.wait_for_function(
            "top => document.querySelector('[data-testid=stMain]').scrollTop >= top", arg=top
        )
        assert_readable(page)
    main.evaluate("m => m.scrollTo(0, 0)")


def scrolled(page) -> float:
    return page.get_by_test_id("stMain").evaluate("m => m.scrollTop")


def draw_a_one(page, canvas) -> None:
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(
            box["x"] + box["width"] / 2 + step / 4, box["y"] + box["height"] * (0.15 + 0.035 * step)
        )
    page.mouse.up()


@pytest.fixture(scope="module", autouse=True)
def shipped_model():
    shipped = [run for run in registry.list_runs(include_shipped=True) if run.shipped]
    assert shipped and (shipped[0].path / layout.LITE_MODEL_FILE).is_file()


@pytest.fixture(scope="module")
def second_model(server_runs_dir):
    """A model to set beside the shipped CNN: a small MLP trained by the worker's loop."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_RUNS_DIR", str(server_runs_dir))
        return tiny_models.tiny_run("seed-mlp", "stage mlp", epochs=1)


def open_present(browser, app_url, viewport):
    """A new browser context on /present at `viewport`, once its canvas shows: (context, page, canvas)."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/present")
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=MODEL_LOAD_TIMEOUT_MS)
    return context, page, canvas


@pytest.mark.parametrize("viewport", [{"width": 1920, "height": 1080}, {"width": 1280, "height": 720}])
def test_present_fits_one_screen_in_large_type(browser, app_url, viewport, tmp_path):
    context, page, canvas = open_present(browser, app_url, viewport)
    expect(page.locator(".stage-answer .digit.waiting")).to_have_text("?")
    expect(page.get_by_test_id("stSidebarContent")).not_to_be_in_viewport()  # Collapsed.
    expect(page.get_by_test_id("stMainMenu")).to_be_hidden()  # Streamlit's chrome is out of the way,
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # but the settings are not.
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)  # The first run has settled.
    expect(page.locator(".st-key-present_bars .main-svg").first).to_be_visible()
    answer, bars, clear = (
        page.locator(".stage-answers"),
        page.locator(".st-key-present_bars[data-stale='false']"),
        page.get_by_role("button", name="Clear"),
    )
    for element in (canvas, answer, bars, clear):
        assert_fits(page, element, viewport)
    column = page.get_by_test_id("stColumn").first
    assert bottom_right(canvas)[0] <= bottom_right(column)[0], "the canvas is cut off by its column"
    assert scrolled(page) == 0
    assert_readable(page)

    draw_a_one(page, canvas)
    digit = page.locator(".stage-answer .predicted-digit")
    expect(digit).to_have_text("1", timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    assert float(digit.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 120
    expect(page.locator(".stage-answer .confidence")).to_contain_text("% sure")
    for element in (canvas, answer, bars):
        assert_fits(page, element, viewport)
    expect(page.locator(".layer-views figure").first).to_be_attached()  # The look inside, below.
    assert_readable_everywhere(page)
    page.screenshot(path=tmp_path / f"present-{viewport['width']}.png")

    clear.click()
    expect(page.locator(".stage-answer .digit.waiting")).to_have_text("?", timeout=ANSWER_TIMEOUT_MS)
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_test_id("stSidebarContent")).to_be_in_viewport()
    page.screenshot(path=tmp_path / f"present-settings-{viewport['width']}.png")
    context.close()


def test_two_models_fit_a_small_screen_and_their_pickers_show_whole_names(browser, app_url, second_model):
    viewport = {"width": 1280, "height": 720}
    context, page, canvas = open_present(browser, app_url, viewport)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)

    page.get_by_role("button", name="Models").click()  # The pickers wait in a popover, not the sidebar.
    model = page.get_by_test_id("stPopoverBody").get_by_role("combobox", name="Model", exact=True)
    expect(model).to_have_value(re.compile("^Fast CNN.* test accuracy$"))
    shown, room = model.evaluate(TEXT_AND_ROOM)
    assert shown <= room, f"the model's name is cut off: {shown:.0f} px of text in {room:.0f} px"
    page.get_by_role("combobox", name="A second model beside it").click()
    page.get_by_role("option", name=re.compile("^stage mlp")).click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stPopoverBody")).to_be_hidden()
    expect(page.locator(".stage-answer")).to_have_count(2, timeout=MODEL_LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)

    draw_a_one(page, canvas)
    expect(page.locator(".stage-answer .predicted-digit")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    expect(page.locator(".stage-answer.second .model")).to_have_text(re.compile("^stage mlp"))
    answers = page.locator(".stage-answer")
    for element in (canvas, answers.first, answers.nth(1), page.locator(".st-key-present_bars")):
        assert_fits(page, element, viewport)
    assert scrolled(page) == 0
    expect(page.locator(".layer-views")).to_have_count(2)  # A look inside each, below.
    assert_readable_everywhere(page)
    context.close()
