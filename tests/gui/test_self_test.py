"""`ganstudio --self-test` in the installed (not frozen) app: window, bundled models and their sliders, toy training."""
from __future__ import annotations

from ganstudio.selftest import run_self_test


def test_self_test_passes_and_reports_each_check(qapp, capsys, isolated_settings):
    assert run_self_test() == 0
    out = capsys.readouterr().out
    assert "ok    window" in out and "ok    training" in out and "self-test passed" in out
    assert "showed the faces model on first launch" in out
    assert not isolated_settings.exists()  # the self-test kept its settings to itself
    assert "ok    bundled models: rendered faces 64x64" in out and "digits 28x28" in out and "moves it" in out
