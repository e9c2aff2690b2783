"""`ganstudio train --tensorboard`: TensorBoard events beside metrics.jsonl, read back with TensorBoard's own reader;
and one sentence with the pip command when the package is missing."""
from __future__ import annotations

import json

import pytest

from ganstudio.cli import main
from ganstudio.core.errors import ConfigError
from ganstudio.core.runs import RunFolder
from ganstudio.core.training import loop
from ganstudio.core.training.loop import Trainer
from ganstudio.core.training.tensorboard import tensorboard_available
from tests.conftest import tiny_config, tiny_images
from tests.run_helpers import toy_config

pytestmark = pytest.mark.usefixtures("one_thread")


def events(folder) -> "object":
    """TensorBoard's reader over a run's event folder, loaded."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    reader = accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    reader.Reload()
    return reader


needs_tensorboard = pytest.mark.skipif(not tensorboard_available(),
                                       reason="the tensorboard package is not installed (pip install tensorboard)")


@needs_tensorboard
def test_a_run_writes_steps_evaluations_and_grids_as_events_beside_the_metrics(tmp_path):
    cfg = toy_config(steps=4, sample_every=2, eval_every=2, eval_samples=100).with_updates("train", tensorboard=True)
    run = RunFolder(tmp_path / "ring")
    list(Trainer(cfg, run.path))
    reader = events(run.tensorboard_dir)
    tags = reader.Tags()
    for tag in ("loss/D", "loss/G", "D_output/real", "D_output/fake", "grad_norm/D", "grad_norm/G"):
        assert [e.step for e in reader.Scalars(tag)] == [1, 2, 3, 4], tag
    logged = [r["loss_d"] for r in run.read_metrics()]
    assert [e.value for e in reader.Scalars("loss/D")] == pytest.approx(logged, rel=1e-6)
    evals = run.read_evals()
    assert [e.step for e in reader.Scalars("eval/modes_covered")] == [2, 4]
    assert [e.value for e in reader.Scalars("eval/modes_covered")] == [r["modes_covered"] for r in evals]
    assert [e.step for e in reader.Images("samples")] == [2, 4] and "samples" in tags["images"]
    assert run.tensorboard_dir.parent == run.metrics_path.parent


@needs_tensorboard
def test_ada_p_is_an_event_and_a_resumed_run_continues_the_events(tmp_path):
    cfg = (tiny_config(steps=4).with_updates("loss", augment="ada", ada_interval=1, ada_speed_images=64)
           .with_updates("train", tensorboard=True, checkpoint_every=2))
    run = RunFolder(tmp_path / "ada")
    reports = list(Trainer(cfg, run.path, data=tiny_images(n=32)))
    assert [e.value for e in events(run.tensorboard_dir).Scalars("augment/p")] == \
        pytest.approx([r.extras["augment_p"] for r in reports])
    list(Trainer.resume(run.path, steps=6, data=tiny_images(n=32)))
    assert [e.step for e in events(run.tensorboard_dir).Scalars("loss/G")] == [1, 2, 3, 4, 5, 6]


def test_without_tensorboard_the_flag_gets_one_sentence_with_the_pip_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loop, "tensorboard_available", lambda: False)
    with pytest.raises(ConfigError, match="pip install tensorboard"):
        Trainer(tiny_config().with_updates("train", tensorboard=True), data=tiny_images())
    status = main(["train", "--data", "toy:ring8", "--steps", "2", "--device", "cpu", "--tensorboard",
                   "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and "pip install tensorboard" in err[0]
    assert not (tmp_path / "run").exists()  # refused before anything was made


def test_the_flag_is_in_the_config_and_off_by_default():
    from ganstudio.cli import build_parser, config_from_args

    args = ["train", "--data", "toy:ring8", "--out", "run"]
    assert not config_from_args(build_parser().parse_args(args)).train.tensorboard
    cfg = config_from_args(build_parser().parse_args(args + ["--tensorboard"]))
    assert cfg.train.tensorboard and json.loads(cfg.to_json())["train"]["tensorboard"] is True
