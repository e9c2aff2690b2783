"""The wizard's look at data: counts, classes, skipped files, the resolutions a source can give; time estimates."""
from __future__ import annotations

import pytest

from ganstudio.core.config import DataConfig
from ganstudio.core.data_preview import preview_data
from ganstudio.core.training.estimate import estimate_time
from ganstudio.core.errors import DatasetError
from tests.run_helpers import image_config, make_folder, toy_config


def test_folder_preview_counts_classes_skips_and_sizes(tmp_path):
    folder = make_folder(tmp_path / "pics", n=12, side=40, classes=3, bad=0)
    (folder / "class0" / "broken.png").write_bytes(b"nope")
    preview = preview_data(DataConfig(source=f"folder:{folder}"))
    assert preview.count == 12 and preview.class_names == ("class0", "class1", "class2") and preview.labelled
    assert len(preview.skipped) == 1 and "broken.png (not an image)" in preview.skipped_report
    assert len(preview.examples) == 8 and preview.examples[0].shape == (64, 64, 3)
    assert preview.resolution_problem(64) is None and preview.resolution_problem(80) is None
    assert "smaller than 64 px" in preview.resolution_problem(128)


def test_some_small_images_are_a_warning_not_a_refusal(tmp_path):
    make_folder(tmp_path / "mixed", n=4, side=16)
    make_folder(tmp_path / "mixed" / "big", n=4, side=64)
    preview = preview_data(DataConfig(source=f"folder:{tmp_path / 'mixed'}"))
    assert preview.resolution_problem(64) is None
    assert preview.resolution_warning(64).startswith("4 of 8 images are smaller than 32 px")


def test_missing_datasets_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="has no images"):
        preview_data(DataConfig(source=f"folder:{tmp_path}"))
    with pytest.raises(DatasetError, match="downloading is turned off"):
        preview_data(DataConfig(source="cifar10", root=str(tmp_path), download=False))
    later = preview_data(DataConfig(source="cifar10", root=str(tmp_path), download=True))
    assert not later.downloaded and later.count == 50_000 and len(later.class_names) == 10
    assert "downloaded" in later.note and "32 px" in later.resolution_problem(128)


def test_mnist_preview(shared_data):
    preview = preview_data(DataConfig(source="mnist", root=str(shared_data), download=False), examples=10)
    assert preview.count == 60_000 and preview.class_names[:2] == ("0", "1")
    assert len(preview.examples) == 10 and preview.examples[0].shape == (28, 28, 1)
    assert preview.resolution_problem(32) is None and preview.resolution_problem(64) is not None


def test_toy_preview_and_time_estimates(tmp_path):
    preview = preview_data(DataConfig(source="toy:moons", toy_samples=5000))
    assert preview.is_toy and preview.count == 5000 and preview.points.shape == (2000, 2)
    estimate = estimate_time(toy_config(steps=700), dataset_size=5000, warmup=1, steps=2)
    assert estimate.seconds_per_step > 0 and estimate.total_steps == 700
    assert estimate.steps_per_epoch == 5000 // 64
    images = image_config(tmp_path, steps=None, epochs=2.0)
    estimate = estimate_time(images, dataset_size=100, warmup=1, steps=2)
    assert estimate.total_steps == 2 * (100 // 8) and estimate.total_seconds > 0
    assert estimate_time(images, 100, should_stop=lambda: True) is None
