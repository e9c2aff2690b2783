"""The trainer process's wire format (plain data only) and its life without the app (no Qt here)."""
from __future__ import annotations

import json
import multiprocessing

import numpy as np
import pytest

from ganstudio.core.runs import RunFolder
from ganstudio.core.training.process import WireError, child_main, receive, send
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


def test_a_cyclegan_child_sends_its_six_row_grid(tmp_path):
    """The trainer process builds a CycleGAN's trainer and sends its grid as the trainer draws it (six rows)."""
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
    grids, kind = [], None
    while kind != "ended":
        assert events.poll(120), "the child reports"
        kind, fields, arrays = receive(events)
        if kind == "progress":
            grids += [arrays[g["image"]] for g in fields["grids"] if g["image"]]
            commands.send_bytes(b'{"cmd": "ack"}')
    child.join(60)
    assert fields["reason"] == "finished", fields
    assert grids and grids[-1].shape[:2] == (6 * 34 + 2, 3 * 34 + 2)  # 6 rows of 3 images, 2 px padding
