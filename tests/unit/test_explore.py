"""Sample selection, paging and the dataset statistics behind the explorer pages."""

import numpy as np
import pytest

from core.data import explore

LABELS = np.array([3, 1, 3, 7, 3, 1, 0, 3], np.uint8)


def test_filter_keeps_dataset_order_without_shuffle():
    assert explore.filter_and_order(LABELS, [3], shuffle=False, seed=0).tolist() == [0, 2, 4, 7]
    assert explore.filter_and_order(LABELS, [1, 7], shuffle=False, seed=0).tolist() == [1, 3, 5]


def test_shuffle_is_a_seeded_permutation_of_the_filter():
    first = explore.filter_and_order(LABELS, [3, 1], shuffle=True, seed=5)
    again = explore.filter_and_order(LABELS, [3, 1], shuffle=True, seed=5)
    other = [explore.filter_and_order(LABELS, [3, 1], shuffle=True, seed=s).tolist() for s in range(6, 16)]
    assert first.tolist() == again.tolist()
    assert sorted(first.tolist()) == [0, 1, 2, 4, 5, 7]
    assert any(order != first.tolist() for order in other)


def test_paging_and_clamping():
    indices = np.arange(250)
    page = explore.sample_page(indices, 3, 100)
    assert page.indices.tolist() == list(range(200, 250))
    assert (page.page, page.page_count, page.total, page.message) == (3, 3, 250, None)

    too_far = explore.sample_page(indices, 99, 100)
    assert too_far.page == 3 and "Page 99 does not exist" in too_far.message
    too_low = explore.sample_page(indices, 0, 100)
    assert too_low.page == 1 and too_low.indices.tolist() == list(range(100))


def test_paging_an_empty_selection():
    page = explore.sample_page(np.array([], int), 1, 100)
    assert page.page_count == 1 and len(page.indices) == 0 and page.message is None


def test_montage_places_tiles_row_by_row():
    images = np.stack([np.full((28, 28), value, np.uint8) for value in (10, 20, 30)])
    picture = explore.montage(images, columns=2, gap=2)
    assert picture.shape == (2 * 30 + 2, 2 * 30 + 2)
    assert picture[2, 2] == 10 and picture[2, 32] == 20 and picture[32, 2] == 30
    assert picture[0, 0] == picture[32, 32] == 60


def test_class_means_and_counts():
    images = np.zeros((4, 28, 28), np.uint8)
    images[0], images[1] = 100, 200
    labels = np.array([5, 5, 2, 9])
    means = explore.class_means(images, labels)
    assert means.shape == (10, 28, 28)
    assert means[5].mean() == pytest.approx(150)
    assert means[2].mean() == 0 and not means[0].any()
    assert explore.class_counts(labels).tolist() == [0, 0, 1, 0, 0, 2, 0, 0, 0, 1]


def test_normalisation_views_are_computed_from_the_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    raw, scaled, standard = explore.normalisation_views(images)
    assert raw.mean == pytest.approx(images.mean()) and raw.std == pytest.approx(images.std())
    assert scaled.mean == pytest.approx((images / 255).mean())
    assert scaled.maximum <= 1.0 and scaled.minimum >= 0.0
    assert standard.mean == pytest.approx(0, abs=1e-9) and standard.std == pytest.approx(1)
    assert f"{scaled.mean:.4f}" in standard.formula
    assert raw.counts.sum() == images.size


def test_pixel_histogram_counts_every_pixel_in_chunks():
    images = np.random.default_rng(0).integers(
        0, 256, (explore.HISTOGRAM_CHUNK_IMAGES * 2 + 7, 28, 28), dtype=np.uint8
    )
    counts = explore.pixel_histogram(images)
    assert counts.shape == (256,) and counts.sum() == images.size
    np.testing.assert_array_equal(counts, np.bincount(images.ravel(), minlength=256))
