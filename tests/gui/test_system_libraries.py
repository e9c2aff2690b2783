"""The start-up check of the libraries Qt's xcb plugin needs on Linux (with a stand-in finder)."""
from __future__ import annotations

from pathlib import Path

from ganstudio.gui import app, system_libraries
from ganstudio.gui.system_libraries import README_APT, check_system_libraries, needs_xcb

X11 = {"DISPLAY": ":0"}


def test_missing_libraries_give_one_sentence_with_both_install_commands():
    missing = lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]  # noqa: E731
    text = check_system_libraries(missing, env=X11, platform="linux")
    assert text.count(". ") == 0 and text.endswith(".")
    assert "`sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1` (Debian, Ubuntu)" in text
    assert "`sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms` (Fedora)" in text


def test_an_unknown_library_is_named():
    text = check_system_libraries(lambda: ["libxcb-cursor.so.0", "libodd.so.3"], env=X11, platform="linux")
    assert "libodd.so.3" in text and "sudo apt install libxcb-cursor0`" in text


def test_nothing_is_checked_without_x11():
    boom = lambda: 1 / 0  # noqa: E731  the finder must not even run
    assert check_system_libraries(lambda: [], env=X11, platform="linux") is None
    assert check_system_libraries(boom, env={}, platform="linux") is None, "no display"
    assert check_system_libraries(boom, env={"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"},
                                  platform="linux") is None
    assert check_system_libraries(boom, env={"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"},
                                  platform="linux") is None, "Qt picks its Wayland plugin"
    assert check_system_libraries(boom, env=X11, platform="darwin") is None
    assert needs_xcb({"DISPLAY": ":1", "QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")


def test_the_app_exits_before_qt_with_the_sentence(monkeypatch, capsys):
    monkeypatch.setattr(system_libraries, "missing_libraries", lambda: ["libxcb-cursor.so.0"])
    monkeypatch.setattr(system_libraries, "needs_xcb", lambda env=None, platform="": True)
    monkeypatch.setattr(system_libraries.check_system_libraries, "__defaults__",
                        (system_libraries.missing_libraries, None, "linux"))
    created = []
    monkeypatch.setattr(app, "create_app", lambda argv=None: created.append(1))
    assert app.run_app([]) == 1
    assert capsys.readouterr().err.strip().startswith("GAN Studio cannot open its window")
    assert not created


def test_the_readme_lists_the_packages():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for package in README_APT.split():
        assert package in readme
