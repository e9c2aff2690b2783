"""The explorer's Drag mode with pytest-qt on the bundled face model: clicks land on the right output pixels at
any zoom, Start moves the handles and updates the image, Stop stops, Undo is exact, the dragged latent is the
current image afterwards, the painted region limits the change, a failure leaves the app usable, and models
without W+ have no Drag mode."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from ganstudio.core.bundled import bundled_model
from ganstudio.core.errors import GanStudioError
from ganstudio.core.latent.drag import DragSettings
from ganstudio.core.latent.drag_plan import DragPlan, DragStatus, pixel_at
from ganstudio.gui.explorer.drag_overlay import ERASE, PAINT, POINTS
from ganstudio.gui.explorer.explorer_view import TAB_DRAG, ExplorerView
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.threads import running_threads

WAIT = 60_000


@pytest.fixture
def faces(qtbot, one_thread):
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model, bundled=[])
    qtbot.addWidget(view)
    view.resize(1000, 640)
    view.show()
    assert view.open_bundled(bundled_model("faces"))
    settle(qtbot, model)
    view.tabs.setCurrentIndex(drag_tab(view))
    yield view
    view.shutdown()
    assert not running_threads()
    view.close()


def drag_tab(view: ExplorerView) -> int:
    return next(i for i in range(view.tabs.count()) if view.tabs.tabText(i) == TAB_DRAG)


def settle(qtbot, model):
    qtbot.waitUntil(lambda: model.last_result is not None and model.idle(), timeout=WAIT)
    qtbot.wait(30)
    qtbot.waitUntil(model.idle, timeout=WAIT)


def shown(view):
    return view.image_view.image.copy()


def screen_pos(view: ExplorerView, x: float, y: float) -> QPoint:
    """The viewport pixel showing the image position (x, y): Qt maps a mouse event by its pixel's top-left
    corner, so the pixel is the one whose square holds the position (the image item's own mapping)."""
    at = view.image_view.viewportTransform().map(view.drag_overlay.mapToScene(QPointF(x, y)))
    return QPoint(math.floor(at.x()), math.floor(at.y()))


def click(view: ExplorerView, x: int, y: int, button=Qt.MouseButton.LeftButton) -> None:
    """Click the middle of output pixel (x, y)."""
    QTest.mouseClick(view.image_view.viewport(), button, Qt.KeyboardModifier.NoModifier,
                     screen_pos(view, x + 0.5, y + 0.5))


def stroke(view: ExplorerView, points: list[tuple[float, float]]) -> None:
    """Press at the first image position, move through the others, release."""
    viewport = view.image_view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen_pos(view, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(viewport, screen_pos(view, *p))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       screen_pos(view, *points[-1]))


def run_drag(qtbot, view: ExplorerView, steps: int, tolerance: float | None = None) -> list:
    """Press Start and wait for the drag to end; returns its steps."""
    seen = []
    view.drag.stepped.connect(seen.append)
    if tolerance is not None:
        view.drag.settings = replace(DragSettings(), tolerance=tolerance)
    view.drag_panel.steps.setValue(steps)
    with qtbot.waitSignal(view.drag.running_changed, timeout=WAIT, check_params_cb=lambda r: not r):
        qtbot.mouseClick(view.drag_panel.start_button, Qt.MouseButton.LeftButton)
    settle(qtbot, view.model)
    return seen


def test_pixel_mapping_and_plan_editing_without_qt():
    assert pixel_at(0.0, 0.0, 64, 64) == (0, 0) and pixel_at(63.99, 10.5, 64, 64) == (63, 10)
    assert pixel_at(64.0, 3, 64, 64) is None and pixel_at(-0.01, 3, 64, 64) is None
    plan = DragPlan(64, 64)
    assert [plan.click(10, 10), plan.click(15, 10), plan.click(40, 40)] == ["handle", "target", "handle"]
    assert plan.pairs() == ([(10, 10)], [(15, 10)]) and plan.waiting_for_target
    assert plan.remove_near(15, 11) and plan.handles == [(40, 40)] and plan.targets == []  # the pair of a target
    assert plan.remove_near(0, 63) and plan.handles == []  # nothing near: the last point placed
    plan.paint(20.5, 20.5, 2)
    assert plan.mask[20, 20] and plan.mask[20, 22] and not plan.mask[20, 23] and not plan.mask[24, 20]
    plan.paint(30.5, 20.5, 1, since=(20.5, 20.5))  # a stroke fills the line between
    assert plan.mask[20, 20:31].all()
    plan.paint(25.5, 20.5, 1, erase=True)
    assert not plan.mask[20, 25] and plan.drag_mask().dtype == np.float32
    plan.clear_mask()
    assert plan.drag_mask() is None


def test_clicks_place_points_on_the_right_output_pixels_at_any_zoom(faces, qtbot):
    view, plan = faces, faces.drag.plan
    assert view.drag_overlay.isVisible() and plan is not None and (plan.width, plan.height) == (64, 64)
    for zoom in (view.image_view.fit, view.image_view.zoom_in, view.image_view.zoom_out, view.image_view.actual_size):
        zoom()
        qtbot.wait(10)
        plan.clear_points()
        click(view, 5, 60)
        click(view, 63, 0)
        click(view, 31, 32)
        assert plan.handles == [(5, 60), (31, 32)] and plan.targets == [(63, 0)], view.image_view.zoom
    assert not view.drag_panel.start_button.isEnabled() or plan.ready
    click(view, 31, 32, Qt.MouseButton.RightButton)  # right-click removes the point (and its pair)
    assert plan.handles == [(5, 60)] and plan.targets == [(63, 0)]
    view.image_view.fit()
    view.drag_panel.tool_buttons[PAINT].click()
    view.drag_panel.brush.setValue(2)
    stroke(view, [(10.5, 10.5), (20.5, 10.5)])
    assert plan.mask[10, 10:21].all() and not plan.mask[13, 15] and plan.mask.sum() < 80
    view.drag_panel.tool_buttons[ERASE].click()
    stroke(view, [(15.5, 10.5)])
    assert not plan.mask[10, 15] and plan.mask[10, 10]
    view.drag_panel.tool_buttons[POINTS].click()
    qtbot.mouseClick(view.drag_panel.clear_mask_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.drag_panel.clear_points_button, Qt.MouseButton.LeftButton)
    assert not plan.has_mask and plan.handles == [] and not view.drag_panel.start_button.isEnabled()


def test_start_moves_the_handles_the_result_is_the_current_image_and_undo_is_exact(faces, qtbot):
    view, model, plan = faces, faces.model, faces.drag.plan
    before, request_before = shown(view), model.state.request()
    view.sliders.rows[0].slider.setValue(100)  # a slider moved before the drag is part of what is dragged
    qtbot.waitUntil(lambda: not np.array_equal(shown(view), before), timeout=WAIT)
    settle(qtbot, model)
    edited = shown(view)
    click(view, 30, 40)
    click(view, 36, 40)
    steps = run_drag(qtbot, view, 6)
    assert steps and steps[0].image.shape == (64, 64, 3)
    assert plan.handles[0] != (30, 40) and plan.farthest() < 6  # the handle moved towards its target
    assert not np.array_equal(steps[-1].image, edited)
    assert model.state.latent_label == "dragged" and model.state.amounts[0] == 0.0  # the slider is inside now
    assert np.array_equal(shown(view), steps[-1].image)  # the current image is the drag's last picture
    assert "step" in view.drag_panel.status.text() and "px" in view.drag_panel.status.text()
    dragged = shown(view)
    view.sliders.rows[1].slider.setValue(150)  # sliders apply to the dragged latent
    qtbot.waitUntil(lambda: not np.array_equal(shown(view), dragged), timeout=WAIT)
    settle(qtbot, model)
    assert model.last_result.request.ws == model.state.latent and model.last_result.request.edits
    view.sliders.rows[1].slider.setValue(0)
    settle(qtbot, model)
    assert view.drag_panel.undo_button.isEnabled()
    qtbot.mouseClick(view.drag_panel.undo_button, Qt.MouseButton.LeftButton)
    settle(qtbot, model)
    assert np.array_equal(shown(view), edited) and model.state.latent is None
    assert model.state.amounts[0] == pytest.approx(1.0) and plan.handles == [(30, 40)]
    view.sliders.rows[0].slider.setValue(0)
    settle(qtbot, model)
    assert model.state.request() == request_before and np.array_equal(shown(view), before)
    assert not view.drag_panel.undo_button.isEnabled()


def test_stop_stops_and_keeps_the_image_shown(faces, qtbot):
    view, model = faces, faces.model
    click(view, 20, 30)
    click(view, 50, 30)  # far: it would take many steps
    view.drag_panel.steps.setValue(500)
    seen = []
    view.drag.stepped.connect(seen.append)
    qtbot.mouseClick(view.drag_panel.start_button, Qt.MouseButton.LeftButton)
    assert view.drag.running and view.drag_panel.stop_button.isEnabled()
    assert not view.seed_field.isEnabled() and not view.tabs.isTabEnabled(0)  # nothing else changes the image
    assert not view.open_latent("any.npz") and "A drag is running" in view.banner.text.text()  # nor a latent file
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=WAIT)
    with qtbot.waitSignal(view.drag.running_changed, timeout=WAIT):
        qtbot.mouseClick(view.drag_panel.stop_button, Qt.MouseButton.LeftButton)
    settle(qtbot, model)
    assert not view.drag.running and seen[-1].step < 50 and "stopped" in view.drag_panel.status.text()
    assert np.array_equal(shown(view), seen[-1].image) and model.state.latent_label == "dragged"
    assert view.seed_field.isEnabled() and view.tabs.isTabEnabled(0) and view.drag_panel.start_button.isEnabled()


def test_the_painted_region_limits_the_change(faces, qtbot):
    view, model, plan = faces, faces.model, faces.drag.plan
    before = shown(view).astype(np.float64)
    click(view, 30, 40)
    click(view, 36, 40)
    view.drag_panel.tool_buttons[PAINT].click()
    view.drag_panel.brush.setValue(7)
    stroke(view, [(26.5, 40.5), (40.5, 40.5)])
    region = plan.mask.copy()
    changes = []
    for painted in (True, False):
        if not painted:
            qtbot.mouseClick(view.drag_panel.undo_button, Qt.MouseButton.LeftButton)
            settle(qtbot, model)
            qtbot.mouseClick(view.drag_panel.clear_mask_button, Qt.MouseButton.LeftButton)
        run_drag(qtbot, view, 6, tolerance=0.0)  # the same number of updates both times
        changes.append(np.abs(shown(view) - before)[~region].mean())
    assert changes[0] < 0.6 * changes[1], f"outside the region: {changes[0]:.2f} painted, {changes[1]:.2f} not"


def test_a_failing_drag_is_one_sentence_and_the_app_stays_usable(faces, qtbot, monkeypatch):
    view, model = faces, faces.model
    before = shown(view)

    class Broken:
        def __init__(self, *args, **kwargs):
            raise GanStudioError("the feature layer is missing")

    monkeypatch.setattr("ganstudio.gui.explorer.drag_controller.DragSession", Broken)
    click(view, 30, 40)
    click(view, 36, 40)
    run_drag(qtbot, view, 5)
    assert "feature layer is missing" in view.drag_panel.status.text() and "\n" not in view.status.text()
    assert not view.drag.running and view.drag_panel.start_button.isEnabled() and view.seed_field.isEnabled()
    assert np.array_equal(shown(view), before) and model.state.latent is None
    view.seed_field.set_seed(7)
    model.state.set_seed(7)
    settle(qtbot, model)
    assert not np.array_equal(shown(view), before)


def test_models_without_w_plus_have_no_drag_mode(qtbot, one_thread):
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model, bundled=[])
    qtbot.addWidget(view)
    view.show()
    assert not view.tabs.isTabVisible(drag_tab(view))
    assert view.open_bundled(bundled_model("digits"))
    settle(qtbot, model)
    assert not view.tabs.isTabVisible(drag_tab(view)) and view.drag.plan is None
    assert not view.drag.start() and not view.drag_overlay.isVisible()
    assert view.open_bundled(bundled_model("faces"))
    settle(qtbot, model)
    assert view.tabs.isTabVisible(drag_tab(view)) and view.drag.available
    view.shutdown()
    view.close()


def test_opening_another_model_during_a_drag_stops_it_and_drops_what_it_still_sends(faces, qtbot):
    view, model = faces, faces.model
    click(view, 20, 30)
    click(view, 50, 30)
    view.drag_panel.steps.setValue(500)
    seen = []
    view.drag.stepped.connect(seen.append)
    qtbot.mouseClick(view.drag_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT)
    assert model.open_bundled(bundled_model("digits"))  # as the File menu would, with the buttons disabled
    settle(qtbot, model)
    qtbot.wait(100)
    assert not view.drag.running and view.drag.plan is None and model.state.latent is None
    assert view.seed_field.isEnabled() and not view.tabs.isTabVisible(drag_tab(view))


def test_the_drag_tab_speaks_in_sentences_and_offers_the_brush_only_to_paint(qtbot, faces):
    panel = faces.drag_panel
    text = panel.status.text()
    assert text[:1].isupper() and text.endswith("."), text  # "Click a handle point on the image."
    assert not panel.brush.isEnabled()  # Points: clicks place points, the brush does nothing
    panel.tool_buttons[PAINT].click()
    assert panel.brush.isEnabled() and faces.drag_overlay.tool == PAINT
    panel.tool_buttons[ERASE].click()
    assert panel.brush.isEnabled()
    panel.tool_buttons[POINTS].click()
    assert not panel.brush.isEnabled()

    # why a drag ended, in words: the step limit says how to go on
    assert DragStatus(5, 5.1, 36).describe("step limit").endswith("stopped at the step limit (Start again to go on)")
