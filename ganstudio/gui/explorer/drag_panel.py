"""The Drag tab (style-based models): how to place points, the brush for the region that may change, the step
limit, Start / Stop / Undo and the drag's status line."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from ganstudio.core.errors import as_sentence
from ganstudio.gui.colours import secondary_css
from ganstudio.gui.explorer.drag_controller import DragController
from ganstudio.gui.explorer.drag_overlay import ERASE, PAINT, POINTS, DragOverlay

HELP = ("Click a <b style='color:#e62828'>handle</b> on the image, then its <b style='color:#2864ff'>target"
        "</b>; add as many pairs as you like. Right-click a point to remove its pair. <b>Start</b> moves the "
        "handles to their targets; the generator follows. To keep part of the picture as it is, paint the region "
        "that may change.")


class DragPanel(QWidget):
    """Controls of the Drag mode, for a DragController and its overlay on the image."""

    def __init__(self, controller: DragController, overlay: DragOverlay, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller, self.overlay = controller, overlay
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        # tools
        self.tool_buttons: dict[str, QToolButton] = {}
        tools = QHBoxLayout()
        group = QButtonGroup(self)
        for tool, text, tip in ((POINTS, "Points", "Click a handle, then its target; right-click removes a pair"),
                                (PAINT, "Paint region", "Paint the region that may change (right-click erases); "
                                 "nothing painted: everything may change"),
                                (ERASE, "Erase", "Erase from the painted region")):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, t=tool: self._set_tool(t))
            group.addButton(button)
            tools.addWidget(button)
            self.tool_buttons[tool] = button
        tools.addStretch(1)
        self.tool_buttons[POINTS].setChecked(True)
        self.brush = QSpinBox()
        self.brush.setRange(1, 32)
        self.brush.setValue(int(overlay.brush))
        self.brush.setSuffix(" px")
        self.brush.setToolTip("The brush's radius, in the image's pixels")
        self.brush.valueChanged.connect(overlay.set_brush)
        self.clear_points_button = QPushButton("Clear points")
        self.clear_points_button.clicked.connect(controller.clear_points)
        self.clear_mask_button = QPushButton("Clear region")
        self.clear_mask_button.clicked.connect(controller.clear_mask)
        clear = QHBoxLayout()
        clear.addWidget(self.clear_points_button)
        clear.addWidget(self.clear_mask_button)
        clear.addStretch(1)
        edit_box = QGroupBox("Points and region")
        edit_layout = QFormLayout(edit_box)
        edit_layout.addRow(tools)
        edit_layout.addRow("Brush", self.brush)
        edit_layout.addRow(clear)
        # run
        self.steps = QSpinBox()
        self.steps.setRange(1, 1000)
        self.steps.setValue(controller.settings.max_steps)
        self.steps.setToolTip("The drag stops when every handle is within a pixel of its target, or after this "
                              "many steps")
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Move the handles to their targets (the image updates after every step)")
        self.start_button.clicked.connect(lambda: controller.start(self.steps.value()))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the step in progress; the image stays as it is")
        self.stop_button.clicked.connect(controller.stop)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Back to the image before the drag")
        self.undo_button.clicked.connect(controller.undo)
        run = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.undo_button):
            run.addWidget(button)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages hold quotes, never markup
        self.status.setWordWrap(True)
        self.status.setStyleSheet(secondary_css())
        run_box = QGroupBox("Drag")
        run_layout = QFormLayout(run_box)
        run_layout.addRow("Step limit", self.steps)
        steps_hint = QLabel("Start stops when every handle has reached its target, or after this many small "
                            "moves.")
        steps_hint.setWordWrap(True)
        steps_hint.setStyleSheet(secondary_css())
        run_layout.addRow(steps_hint)
        run_layout.addRow(run)
        run_layout.addRow(self.status)
        layout = QVBoxLayout(self)
        layout.addWidget(help_label)
        layout.addWidget(edit_box)
        layout.addWidget(run_box)
        layout.addStretch(1)
        controller.plan_changed.connect(self._plan_changed)
        controller.running_changed.connect(lambda _: self._sync())
        controller.undo_changed.connect(lambda _: self._sync())
        controller.status.connect(self._show_status)
        controller.error.connect(self._show_error)
        self._sync()

    def _sync(self) -> None:
        c = self.controller
        plan, running = c.plan, c.running
        self.start_button.setEnabled(plan is not None and plan.ready and not running)
        self.stop_button.setEnabled(running)
        self.undo_button.setEnabled(c.can_undo)
        for w in (*self.tool_buttons.values(), self.steps):
            w.setEnabled(not running)
        self.brush.setEnabled(not running and self.overlay.tool != POINTS)  # the brush paints and erases only
        self.clear_points_button.setEnabled(not running and plan is not None and bool(plan.handles))
        self.clear_mask_button.setEnabled(not running and plan is not None and plan.has_mask)

    def _set_tool(self, tool: str) -> None:
        self.overlay.set_tool(tool)
        self._sync()

    def _plan_changed(self) -> None:
        """Points placed or removed (not moved by a running drag): say what comes next."""
        self._sync()
        plan = self.controller.plan
        if plan is None or self.controller.running:
            return
        pairs = len(plan.targets)
        if plan.waiting_for_target:
            self._show_status("click the target of the red handle")
        elif pairs:
            placed = "1 handle with its target" if pairs == 1 else f"{pairs} handles with their targets"
            region = ", only the painted region may change" if plan.has_mask else ""
            self._show_status(f"{placed}{region}: press Start")
        else:
            self._show_status("click a handle point on the image")

    def _show_status(self, text: str) -> None:
        self.status.setStyleSheet(secondary_css())
        self.status.setText(as_sentence(text, capitalise=True))

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(as_sentence(text, capitalise=True))
