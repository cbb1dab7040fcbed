"""Browse MNIST samples: a filtered, paged, shuffled grid, and one digit up close."""

import streamlit as st

from core.data import explore
from core.ui import app_cache, charts, pictures, session_keys, url_state

PAGE_SIZE, COLUMNS = 100, 10

st.title(":material/grid_view: Explore digits")
link = url_state.opened_link(session_keys.EXPLORE_PREFIX, explore.FILTERS)
if link:  # A link opened wins over the filters this session held.
    st.session_state.update(explore.usable_filters(link))

# The filters above the grid: the sidebar is the list of pages.
split_column, digits_column, shuffle_column, seed_column = st.columns(
    [2, 6, 2, 2], vertical_alignment="bottom"
)
split = split_column.radio("Split", explore.SPLITS, horizontal=True, key="explore_split")
digits = digits_column.multiselect(
    "Digits", explore.DIGITS, default=list(explore.DIGITS), key="explore_digits"
)
shuffle = shuffle_column.toggle("Shuffle", value=True, key="explore_shuffle")
seed = seed_column.number_input(
    "Shuffle seed", 0, explore.SEED_MAX, 0, disabled=not shuffle, key="explore_seed"
)
url_state.share_in_url(
    session_keys.EXPLORE_PREFIX,
    {key: st.session_state.get(key, value) for key, value in explore.FILTERS.items()},
)

if not digits:
    st.warning("Choose at least one digit above to see samples.", icon=":material/filter_alt_off:")
    st.stop()

images, labels = app_cache.mnist().split(split)
ordered = app_cache.ordered_indices(split, tuple(sorted(digits)), shuffle, int(seed))
page_number = st.number_input("Page", min_value=1, value=1, step=1, key="explore_page")
page = explore.sample_page(ordered, int(page_number), PAGE_SIZE)
if page.message:
    st.warning(page.message, icon=":material/error:")
st.caption(f"Page {page.page} of {page.page_count}: {page.total:,} {split} digits match the filter.")

grid = pictures.labelled_grid(images[page.indices], [str(labels[i]) for i in page.indices], COLUMNS)
st.html(grid)

st.subheader("One digit up close")
position = 1
if len(page.indices) > 1:
    st.session_state.explore_position = explore.clamp(
        st.session_state.get("explore_position", 1), 1, len(page.indices)
    )
    position = st.slider("Digit on this page", 1, len(page.indices), key="explore_position")
chosen = page.indices[position - 1]
st.plotly_chart(
    charts.digit_heatmap(images[chosen], f"{split} digit #{chosen}: labelled {labels[chosen]}"),
    key="explore_zoom",
)
