"""The trainer process's wire format (plain data only) and its life without the app (no Qt here)."""
from __future__ import annotations

import json
import multiprocessing
import time

import numpy as np
import pytest

from ganstudio.core.runs import RunFolder
from ganstudio.core.training.cycle import CYCLE_METRICS
from ganstudio.core.training.process import METRIC_COLUMNS, WireError, child_main, receive, send
from tests.run_helpers import toy_config


def test_messages_carry_json_fields_and_raw_arrays():
    a, b = multiprocessing.Pipe(duplex=False)
    grid = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    send(b, "progress", {"step": 3, "lr": 2e-4, "note": "é", "none": None},
         {"grid": grid, "metrics": np.full((2, 9), np.nan), "empty": np.zeros((0, 9))})
    kind, fields, arrays = receive(a)
    assert kind == "progress" and fields == {"step": 3, "lr": 2e-4, "note": "é", "none": None}
    assert np.array_equal(arrays["grid"], grid) and arrays["grid"].flags.writeable
    assert arrays["metrics"].shape == (2, 9) and np.isnan(arrays["metrics"]).all()
    assert arrays["empty"].shape == (0, 9)


@pytest.mark.parametrize("header", [
    {"kind": "x", "fields": {}, "arrays": [["a", "object", [1]]]},  # only plain dtypes: no pickled objects
    {"kind": 3, "fields": {}, "arrays": []},
    {"fields": {}},
])
def test_anything_else_is_refused(header):
    a, b = multiprocessing.Pipe(duplex=False)
    b.send_bytes(json.dumps(header).encode())
    b.send_bytes(b"\0" * 8)
    with pytest.raises(WireError):
        receive(a)
    b.send_bytes(b"\x80\x04not json")
    with pytest.raises(WireError):
        receive(a)


def test_a_child_whose_app_died_saves_and_ends(tmp_path):
    """The app's end of the command pipe closes (the app crashed): the child stops, checkpoints and exits."""
    ctx = multiprocessing.get_context("spawn")
    commands_child, commands = ctx.Pipe(duplex=False)
    events, events_child = ctx.Pipe(duplex=False)
    job = {"kind": "new", "config": toy_config(steps=1_000_000).to_dict(), "run_dir": str(tmp_path / "run")}
    child = ctx.Process(target=child_main, args=(commands_child, events_child, job, 1))
    child.start()
    commands_child.close()
    events_child.close()
    kinds = []
    while "progress" not in kinds:
        assert events.poll(120), "the child reports its progress"
        kind, fields, arrays = receive(events)
        kinds.append(kind)
        if kind == "progress":
            commands.send_bytes(b'{"cmd": "ack"}')
    assert kinds[:1] == ["status"] and "started" in kinds
    commands.close()  # the app is gone
    events.close()
    child.join(60)
    assert child.exitcode == 0, "it ended by itself: no orphan"
    latest = RunFolder(tmp_path / "run").latest_checkpoint()
    assert latest is not None and int(latest.stem.split("-")[1]) >= 1


def test_a_cyclegan_child_sends_its_six_row_grid_and_its_terms(tmp_path):
    """The trainer process builds a CycleGAN's trainer, sends its grid as the trainer draws it (six rows) and
    each step's CycleGAN terms as columns of the metrics, as metrics.jsonl logs them."""
    from PIL import Image

    from ganstudio.core.defaults import RunChoices, run_config

    rng = np.random.default_rng(0)
    for name in "AB":
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    cfg = run_config(RunChoices(source=f"folder:{tmp_path / 'A'}", arch="cyclegan", resolution=32),
                     {"data": {"source_b": f"folder:{tmp_path / 'B'}", "channels": 1},
                      "model": {"capacity": 4, "residual_blocks": 1},
                      "train": {"steps": 2, "epochs": None, "batch_size": 2, "sample_every": 2, "grid_size": 3,
                                "device": "cpu"}})
    ctx = multiprocessing.get_context("spawn")
    commands_child, commands = ctx.Pipe(duplex=False)
    events, events_child = ctx.Pipe(duplex=False)
    job = {"kind": "new", "config": cfg.to_dict(), "run_dir": str(tmp_path / "run")}
    child = ctx.Process(target=child_main, args=(commands_child, events_child, job, 1))
    child.start()
    commands_child.close()
    events_child.close()
    grids, rows, kind = [], [], None
    while kind != "ended":
        assert events.poll(120), "the child reports"
        kind, fields, arrays = receive(events)
        if kind == "progress":
            grids += [arrays[g["image"]] for g in fields["grids"] if g["image"]]
            rows.append(arrays["metrics"])
            commands.send_bytes(b'{"cmd": "ack"}')
    child.join(60)
    assert fields["reason"] == "finished", fields
    assert grids and grids[-1].shape[:2] == (6 * 34 + 2, 3 * 34 + 2)  # 6 rows of 3 images, 2 px padding
    rows = np.concatenate(rows)
    logged = RunFolder(tmp_path / "run").read_metrics()
    assert rows[:, METRIC_COLUMNS.index("step")].tolist() == [1, 2] == [r["step"] for r in logged]
    for name in CYCLE_METRICS:
        sent = rows[:, METRIC_COLUMNS.index(name)]
        assert np.allclose(sent, [r[name] for r in logged], rtol=1e-6), name
    assert np.isnan(rows[:, METRIC_COLUMNS.index("augment_p")]).all()  # no ADA: NaN, as for a DCGAN's terms


def test_the_child_sends_batches_at_its_refresh_rate_and_loses_no_step(tmp_path):
    """Steps are coalesced into a few messages (the app may be slow to acknowledge), every step arrives once and
    is in metrics.jsonl; GAN Lab frames come only while the app shows them; the child times its own training."""
    ctx = multiprocessing.get_context("spawn")
    commands_child, commands = ctx.Pipe(duplex=False)
    events, events_child = ctx.Pipe(duplex=False)
    job = {"kind": "new", "config": toy_config(steps=1_000_000).to_dict(), "run_dir": str(tmp_path / "run")}
    child = ctx.Process(target=child_main, args=(commands_child, events_child, job, 1, 10.0, 20.0))
    child.start()
    commands_child.close()
    events_child.close()
    commands.send_bytes(b'{"cmd": "toy", "on": false}')  # the GAN Lab view is hidden
    rows, batches, frames_hidden, frames_shown, started, ended = [], 0, 0, 0, None, None
    shown_at = first = None
    while ended is None:
        assert events.poll(120), "the child reports"
        kind, fields, arrays = receive(events)
        if kind == "started":
            started = fields
        elif kind == "progress":
            first = first or time.monotonic()
            batches += 1
            rows.append(arrays["metrics"])
            if shown_at is None:
                frames_hidden += fields["toy"] is not None
                if fields["step"] >= 40:
                    commands.send_bytes(b'{"cmd": "toy", "on": true}')
                    shown_at = fields["step"]
            else:
                frames_shown += fields["toy"] is not None
                if frames_shown >= 2:
                    commands.send_bytes(b'{"cmd": "stop"}')
            time.sleep(0.05)  # a busy app: more steps gather before the next batch
            commands.send_bytes(b'{"cmd": "ack"}')
        elif kind == "ended":
            ended = fields
    seconds = time.monotonic() - first
    child.join(60)
    steps = np.concatenate(rows)[:, 0]
    assert ended["reason"] == "stopped" and steps.tolist() == list(range(1, ended["step"] + 1))
    assert batches <= seconds * 10 + 3, "at most 10 messages a second, however fast the steps"
    assert frames_hidden == 0 and frames_shown >= 2
    assert [r["step"] for r in RunFolder(tmp_path / "run").read_metrics()] == list(range(1, ended["step"] + 1))
    assert ended["steps_done"] == ended["step"] and ended["train_seconds"] > 0
    marks = started["marks"]
    assert marks["entered"] <= marks["imported"] <= marks["data"] <= marks["built"]
