"""torchrun: a 2-process Gloo job on the CPU keeps both ranks' weights identical after every step, only rank 0
writes, and its checkpoint resumes in a single process."""
import json
import subprocess
import sys
from pathlib import Path

from ganstudio.core.checkpoints import load_generator
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_images

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_process_gloo_job_keeps_ranks_identical_and_resumes_alone(tmp_path):
    run_dir = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
         str(run_dir), "6"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[:1500] + "\n...\n" + result.stderr[-2500:]
    check = json.loads((run_dir / "ddp-check.json").read_text())
    assert check["steps"] == [1, 2, 3, 4, 5, 6]
    assert check["mismatches"] == []
    # each step consumed one global batch of 2 x 8 images: 4 steps per 64-image epoch, then 2 more
    assert check["position"] == 32
    run = RunFolder(run_dir)
    records = run.read_metrics()
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]  # one writer: no duplicated lines
    assert [p.name for p in run.checkpoints()] == ["step-0000006.safetensors"]

    resumed = Trainer.resume(run_dir, steps=8, data=tiny_images(n=64))
    assert resumed.step == 6 and resumed.dist.world_size == 1
    list(resumed)
    assert [r["step"] for r in run.read_metrics()] == list(range(1, 9))
    G, cfg = load_generator(run_dir)
    assert G(resumed.fixed_z).shape == (8, 1, 16, 16)


def test_ada_p_several_ds_and_unrolling_stay_identical_across_ranks(tmp_path):
    """ADA's p is agreed over the ranks (each rank augments its own images), and with two D's and an unrolled D
    every rank still holds the same weights."""
    run_dir = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
         str(run_dir), "6", "small-data"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[:1500] + "\n...\n" + result.stderr[-2500:]
    check = json.loads((run_dir / "ddp-check.json").read_text())
    assert check["steps"] == [1, 2, 3, 4, 5, 6] and check["mismatches"] == []
    assert len(check["p"]) == 6 and max(check["p"]) > 0


def test_cyclegan_ranks_stay_identical(tmp_path):
    """CycleGAN's four networks under DDP: every rank holds the same weights after every step."""
    run_dir = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
         str(run_dir), "3", "cyclegan"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[:1500] + "\n...\n" + result.stderr[-2500:]
    check = json.loads((run_dir / "ddp-check.json").read_text())
    assert check["steps"] == [1, 2, 3] and check["mismatches"] == []
    assert [p.name for p in RunFolder(run_dir).checkpoints()] == ["step-0000003.safetensors"]


def test_a_cyclegan_resumed_under_torchrun_continues_exactly(tmp_path):
    """Each rank pools the fakes of its own slice of the batch: the checkpoint keeps every rank's pool, so a run
    stopped and resumed under torchrun ends bit for bit where the same run trained at once ends."""
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
         str(tmp_path), "4", "cyclegan-resume"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[:1500] + "\n...\n" + result.stderr[-2500:]
    check = json.loads((tmp_path / "ddp-check.json").read_text())
    assert check["step"] == 4 and check["pool_size"] == 3 and check["pools_differ"]  # two ranks, two pools
    assert check["ranks"] == [{"mismatches": [], "restored": True}] * 2
    assert check["losses_equal"]
