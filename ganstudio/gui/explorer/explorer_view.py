"""The Explore area: the generated image (with the interpolation strip, or the style-mixing views) on the left,
the controls on the right. Self-contained: give it an ExplorerModel (or let it make one) and open a checkpoint."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QSplitter, QStackedWidget, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from ganstudio.core.bundled import BundledModel, bundled_models
from ganstudio.core.checkpoints import Checkpoint
from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.core.explorer import ModelInfo
from ganstudio.core.render import RenderResult
from ganstudio.gui.explorer.bundled_bar import BundledModelBar
from ganstudio.gui.explorer.class_picker import ClassPicker
from ganstudio.gui.explorer.direction_source import DirectionSource
from ganstudio.gui.explorer.drag_controller import DragController
from ganstudio.gui.explorer.drag_overlay import DragOverlay
from ganstudio.gui.explorer.drag_panel import DragPanel
from ganstudio.gui.explorer.export_dialog import ExportDialog
from ganstudio.gui.explorer.frame_strip import FrameStrip
from ganstudio.gui.explorer.image_view import ImageView
from ganstudio.gui.explorer.input_transform_panel import InputTransformPanel
from ganstudio.gui.explorer.interpolation_panel import InterpolationPanel
from ganstudio.gui.explorer.latent_files import LatentFiles
from ganstudio.gui.explorer.mixing_panel import MixingPanel
from ganstudio.gui.explorer.mixing_view import MixingView
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.explorer.seed_field import SeedField
from ganstudio.gui.explorer.slider_hold import SliderHold
from ganstudio.gui.explorer.slider_panel import SliderPanel
from ganstudio.gui.explorer.truncation_slider import TruncationSlider
from ganstudio.gui.photo.tuned_swap import TunedSwap
from ganstudio.gui.colours import secondary_css
from ganstudio.gui.widgets.message_banner import MessageBanner

PLACEHOLDER = ("Open a checkpoint to explore what its generator learned (GAN Studio's own, an NVIDIA StyleGAN2/3 "
               ".pkl or a rosinality .pt), or a pretrained model above")
TAB_SLIDERS, TAB_INTERPOLATE, TAB_MIXING, TAB_DRAG = "Sliders", "Interpolate", "Style mixing", "Drag"
STYLE_TABS = (2, 3)  # the tabs only a style-based model has: Style mixing and Drag


class ExplorerView(QWidget):
    """Everything the explorer shows and controls, around one ExplorerModel."""

    open_checkpoint_requested = Signal()  # the user pressed "Open checkpoint…" (the host shows a file dialog)
    checkpoint_opened = Signal(str)  # a checkpoint opened (for a recent list)

    def __init__(self, model: ExplorerModel | None = None, parent: QWidget | None = None,
                 bundled: list[BundledModel] | None = None):
        super().__init__(parent)
        self.model = model or ExplorerModel(parent=self)
        self.bundled_models, bundled_problem = (bundled, None) if bundled is not None else _bundled_or_problem()
        self.bundled = BundledModelBar(self.bundled_models)
        self.export_dialog: ExportDialog | None = None
        self._background_path: Path | None = None  # the file open_in_background was asked for
        m = self.model
        # header
        self.title = QLabel("No model open")
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # wraps on a narrow window (the tooltip has it all) rather than widen the explorer's minimum
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.busy = QProgressBar()  # while a model is read and built on a worker thread
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.card = QLabel()  # an imported model's card: source, SHA-256, licence
        self.card.setStyleSheet(secondary_css())
        self.card.setTextFormat(Qt.TextFormat.PlainText)
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.card.hide()
        self.open_button = QPushButton("Open checkpoint…")
        self.open_button.setToolTip("A GAN Studio checkpoint or run folder, an NVIDIA StyleGAN2/StyleGAN3 network "
                                    "pickle (.pkl) or a rosinality stylegan2-pytorch checkpoint (.pt); no code in "
                                    "the file is ever run")
        self.open_button.clicked.connect(self.open_checkpoint_requested)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the image, a grid or an animation")
        self.export_button.clicked.connect(self.show_export)
        self.zoom_buttons: dict[str, QToolButton] = {}
        header = QHBoxLayout()
        header.addWidget(self.bundled)
        header.addSpacing(12)
        header.addWidget(self.title, 1)
        header.addWidget(self.busy)
        header.addSpacing(12)
        header.addWidget(self.export_button)
        header.addWidget(self.open_button)
        # image side, with its zoom buttons above it (in the header they squeezed the model's title)
        self.image_view = ImageView(PLACEHOLDER)
        zoom_bar = QHBoxLayout()
        zoom_bar.setContentsMargins(0, 0, 0, 0)
        for key, text, tip in (("out", "−", "Zoom out"), ("fit", "Fit", "Fit the image to the view (double-click)"),
                               ("actual", "1:1", "One screen pixel per image pixel"), ("in", "+", "Zoom in")):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            zoom_bar.addWidget(button)
            self.zoom_buttons[key] = button
        self.zoom_buttons["out"].clicked.connect(self.image_view.zoom_out)
        self.zoom_buttons["fit"].clicked.connect(self.image_view.fit)
        self.zoom_buttons["actual"].clicked.connect(self.image_view.actual_size)
        self.zoom_buttons["in"].clicked.connect(self.image_view.zoom_in)
        self.smooth_button = QToolButton()
        self.smooth_button.setText("Smooth")
        self.smooth_button.setCheckable(True)
        self.smooth_button.setChecked(True)
        self.smooth_button.setToolTip("Smooth enlargement; off: see the generator's real pixels")
        self.smooth_button.toggled.connect(self.image_view.set_smooth)
        zoom_bar.addWidget(self.smooth_button)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(44)
        self.image_view.zoom_changed.connect(lambda z: self.zoom_label.setText(zoom_text(z)))
        zoom_bar.addWidget(self.zoom_label)
        zoom_bar.addStretch(1)
        self.strip = FrameStrip(m)
        self.mixing_view = MixingView(m)
        image_page = QWidget()
        page_layout = QVBoxLayout(image_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addLayout(zoom_bar)
        page_layout.addWidget(self.image_view, 1)
        page_layout.addWidget(self.strip)
        self.left = QStackedWidget()
        self.left.addWidget(image_page)
        # In a scroll area: the three views and the grid need ~470 px, more than a small screen leaves beside the
        # controls; the stack's minimum width is its widest page's.
        self.mixing_area = _scrolling(self.mixing_view, margins=False)
        self.mixing_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.left.addWidget(self.mixing_area)
        # controls
        self.seed_field = SeedField()
        self.class_picker = ClassPicker()
        self.truncation = TruncationSlider()
        self.transform_panel = InputTransformPanel()
        self.transform_panel.hide()
        self.direction_source = DirectionSource(m)
        self.sliders = SliderPanel(m)
        self.interpolation = InterpolationPanel(m)
        self.mixing = MixingPanel(m)
        self.drag = DragController(m, self)
        self.drag_overlay = DragOverlay(self.drag)
        self.image_view.add_overlay(self.drag_overlay)
        self.drag_panel = DragPanel(self.drag, self.drag_overlay)
        self.tuned_swap = TunedSwap(m)  # a photo's latent rendered with its tuned generator, and the original back
        self.latent_files = LatentFiles(m, self.tuned_swap, self)  # File > Open latent…, Save latent…
        sliders_page = QWidget()
        s_layout = QVBoxLayout(sliders_page)
        s_layout.addWidget(self.direction_source)
        s_layout.addWidget(self.sliders, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(sliders_page, TAB_SLIDERS)
        self.tabs.addTab(_scrolling(self.interpolation), TAB_INTERPOLATE)
        self.tabs.addTab(_scrolling(self.mixing), TAB_MIXING)
        self.tabs.addTab(_scrolling(self.drag_panel), TAB_DRAG)
        controls = QWidget()
        c_layout = QVBoxLayout(controls)
        c_layout.setContentsMargins(8, 0, 0, 0)
        c_layout.addWidget(self.seed_field)
        c_layout.addWidget(self.class_picker)
        c_layout.addWidget(self.truncation)
        c_layout.addWidget(self.transform_panel)
        c_layout.addWidget(_line())
        c_layout.addWidget(self.tabs, 1)
        controls.setMinimumWidth(400)
        self.controls = controls
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(controls)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages hold file names and quotes, never markup
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.banner = MessageBanner()  # what stops the user (a file that cannot be opened), where they look
        self.banner.text.setTextFormat(Qt.TextFormat.PlainText)
        layout.addLayout(header)
        layout.addWidget(self.card)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        # wiring: controls -> model
        self.seed_field.seed_changed.connect(m.state.set_seed)
        self.seed_field.random_requested.connect(m.state.random_seed)
        self.class_picker.class_changed.connect(m.state.set_class)
        self.class_picker.blend_changed.connect(lambda b, t: m.state.set_class_blend(None if b < 0 else b, t))
        self.truncation.psi_changed.connect(m.state.set_psi)
        self.transform_panel.transform_changed.connect(m.state.set_transform)
        # previews while any slider is held (when the core has them), the full image on release
        self.slider_hold = SliderHold(self)
        self.slider_hold.held.connect(m.set_slider_held)
        self.slider_hold.watch(controls)
        m.directions_changed.connect(lambda _: self.slider_hold.watch(controls))  # after the rows are rebuilt
        self.tabs.currentChanged.connect(self._tab_changed)
        self.direction_source.error.connect(self.show_error)
        self.bundled.chosen.connect(self.open_bundled)
        self.drag.stepped.connect(lambda step: self.image_view.set_image(step.image))
        self.drag.running_changed.connect(self._dragging)
        self.drag.status.connect(self._message)
        self.drag.error.connect(self.show_error)
        self.latent_files.busy.connect(self._latent_busy)
        self.latent_files.done.connect(self._latent_done)
        self.latent_files.note.connect(lambda text: self.banner.show_message(as_sentence(text), "warning"))
        self.latent_files.refused.connect(self.show_open_error)
        self.latent_files.error.connect(self.show_error)
        # model -> views
        m.opened.connect(self._opened)
        m.open_failed.connect(self.show_open_error)
        m.loading.connect(self._loading)
        m.state_changed.connect(self._sync)
        m.rendered.connect(self._rendered)
        m.message.connect(self._message)
        m.error.connect(self.show_error)
        self._set_enabled(False)
        self._sync()
        if bundled_problem:
            self.show_error(bundled_problem)

    # -- opening ------------------------------------------------------------------------------------

    def open_checkpoint(self, path: str | Path) -> bool:
        """Open a checkpoint file or run folder; a wrong or damaged file is explained in one sentence."""
        if self.model.open_checkpoint(path):
            self.checkpoint_opened.emit(str(path))
            return True
        return False

    def open_in_background(self, path: str | Path) -> None:
        """Open a checkpoint, run folder, NVIDIA `.pkl` or rosinality `.pt` on a worker thread (the window stays
        live; a busy bar shows meanwhile); checkpoint_opened follows when it opens, a refusal goes in the banner."""
        self._background_path = Path(path)
        self.model.open_in_background(path)

    def _loading(self, busy: bool, text: str) -> None:
        self.busy.setVisible(busy)
        self.busy.setToolTip(text)
        if busy:
            self.image_view.set_placeholder(text)
            self._message(text)
        elif not self.model.is_open:
            self.image_view.set_placeholder(PLACEHOLDER)

    def open_bundled(self, bundled: BundledModel) -> bool:
        """Open a pretrained model shipped with the app, with its named sliders."""
        self.image_view.set_placeholder(f"Opening {bundled.title}…")
        return self.model.open_bundled(bundled)

    def show_checkpoint(self, path: Path | None, ckpt: Checkpoint) -> bool:
        """Explore a checkpoint the host has already loaded."""
        try:
            self.model.open_loaded(ckpt, Path(path) if path else None)
        except GanStudioError as exc:
            self.show_open_error(str(exc))
            return False
        if path:
            self.checkpoint_opened.emit(str(path))
        return True

    def show_error(self, message: str) -> None:
        """A problem in the status line (a render or a direction set that failed)."""
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(as_sentence(message))

    def show_open_error(self, message: str) -> None:
        """A model or file that could not be opened: in the banner above the image, and in the status line."""
        self.banner.show_message(as_sentence(message), "error", "Cannot open:")
        self.show_error(message)

    def open_latent(self, path: str | Path) -> bool:
        """Make a latent file's W+ the current image (read on a worker); another model's file is refused in the
        banner."""
        if self.drag.running:  # its result would replace the latent when it ends
            self.show_open_error("a drag is running; stop it first, then open the latent")
            return False
        return self.latent_files.open(path)

    def save_latent(self, path: str | Path) -> bool:
        """Write the current image's latent, slider edits included (on a worker)."""
        return self.latent_files.save(path)

    def _latent_busy(self, busy: bool, text: str) -> None:
        self.busy.setVisible(busy or self.model.opening)
        if busy:
            self._message(text)

    def _latent_done(self, message: str) -> None:
        self.banner.hide()
        self._message(message)

    def _message(self, message: str) -> None:
        self.status.setStyleSheet(secondary_css())
        self.status.setText(as_sentence(message))

    def _opened(self, info: ModelInfo) -> None:
        self.bundled.show_current(self.model.bundled_key)
        self.title.setText(info.describe())
        self.title.setToolTip(info.describe() + (f"\n{info.path}" if info.path else "") +
                              (f"\n{info.card}" if info.card else ""))
        self.card.setText(info.card)
        self.card.setToolTip(info.card)
        self.card.setVisible(bool(info.card))
        self.transform_panel.setVisible(info.input_transform)
        if self._background_path is not None and info.path == self._background_path:
            self.checkpoint_opened.emit(str(info.path))
        self._background_path = None
        self.class_picker.set_classes(info.class_names)
        self.class_picker.setVisible(info.conditional)
        self.truncation.set_style_based(info.style_based)
        for index in STYLE_TABS:
            self.tabs.setTabVisible(index, info.style_based)
        if not info.style_based and self.tabs.currentIndex() in STYLE_TABS:
            self.tabs.setCurrentIndex(0)
        self.image_view.set_image(None)
        self.image_view.set_placeholder("Rendering…")
        self._set_enabled(True)
        self.banner.hide()
        self.status.setStyleSheet(secondary_css())
        self.status.setText(f"Opened {info.path or info.title}")

    def _set_enabled(self, on: bool) -> None:
        for w in (self.seed_field, self.class_picker, self.truncation, self.transform_panel, self.tabs,
                  self.export_button, *self.zoom_buttons.values()):
            w.setEnabled(on)
        if not on:
            self.class_picker.hide()
            self.transform_panel.hide()
            for index in STYLE_TABS:
                self.tabs.setTabVisible(index, False)

    def _dragging(self, running: bool) -> None:
        """While a drag runs, nothing else may change the image (its result replaces it)."""
        for w in (self.seed_field, self.class_picker, self.truncation, self.export_button, self.open_button,
                  self.bundled, self.transform_panel):
            w.setEnabled(not running)
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) != TAB_DRAG:
                self.tabs.setTabEnabled(index, not running)

    # -- following the model ------------------------------------------------------------------------

    def _sync(self) -> None:
        m = self.model
        self.seed_field.set_seed(m.state.seed)
        self.truncation.set_psi(m.state.psi)
        self.transform_panel.set_transform(m.state.transform)
        if m.info is not None and m.info.conditional:
            self.class_picker.set_state(m.state.class_index, m.state.class_b, m.state.class_t)
        self.strip.setVisible(m.state.seed_b is not None and self.left.currentIndex() == 0)

    def _rendered(self, result: RenderResult) -> None:
        if result.image is None:
            return
        self.image_view.set_image(result.image, result.stamp)
        r = result.request
        parts = [self.model.state.latent_label or "own latent"] if r.ws is not None else [f"seed {r.seed}"]
        if r.class_index is not None and self.model.info.conditional:
            parts.append(f"class {self.model.info.class_names[r.class_index]}")
        if r.seed_b is not None and r.seed_t:
            parts.append(f"→ seed {r.seed_b} at t = {r.seed_t:.2f}")
        if r.class_b is not None and r.class_t:
            parts.append(f"→ class {self.model.info.class_names[r.class_b]} at {r.class_t:.2f}")
        if r.psi != 1.0 and r.ws is None:  # truncation does not apply to an explicit latent
            parts.append(f"ψ = {r.psi:.2f}")
        if r.edits:
            parts.append(f"{len(r.edits)} slider{'s' if len(r.edits) > 1 else ''} moved")
        if r.input_transform is not None:
            x, y, degrees = r.input_transform
            parts.append(f"moved ({x:+.3f}, {y:+.3f}), turned {degrees:+.0f}°")
        h, w = result.image.shape[:2]
        kind = f"{r.max_size}-px preview" if result.preview else f"{w}×{h}"
        parts.append(f"{kind} rendered in {result.seconds * 1000:.1f} ms")
        self.status.setStyleSheet(secondary_css())
        self.status.setText(" · ".join(parts))

    def _tab_changed(self, index: int) -> None:
        mixing = self.tabs.tabText(index) == TAB_MIXING
        self.drag_overlay.setVisible(self.tabs.tabText(index) == TAB_DRAG)  # points are placed and shown there
        self.left.setCurrentIndex(1 if mixing else 0)
        self.model.show_mixing(mixing)
        self._sync()

    def show_export(self) -> ExportDialog | None:
        """Open the export dialog (non-modal, so the explorer stays usable)."""
        if not self.model.is_open:
            return None
        if self.export_dialog is not None:
            self.export_dialog.stop()
            self.export_dialog.deleteLater()
        self.export_dialog = ExportDialog(self.model, self)
        self.export_dialog.show()
        return self.export_dialog

    def show_latent(self, ws, label: str, tuned_generator=None) -> None:
        """Make an explicit W+ latent (a projected photo) the current image; with a generator tuned for it (PTI),
        the explorer renders with that copy until another model is opened (gui/photo/tuned_swap.py)."""
        self.tuned_swap.show(ws, label, tuned_generator)

    def shutdown(self) -> None:
        """Stop every thread the explorer started (render thread, direction task, export, drag); call before
        closing."""
        self.drag.join()
        self.latent_files.join()
        if self.export_dialog is not None:
            self.export_dialog.stop()
            self.export_dialog.close()
        self.model.close()


def zoom_text(zoom: float) -> str:
    """A zoom factor as the label beside the zoom buttons shows it: 2×, 0.51× (a fitted large image)."""
    return f"{zoom:g}×" if float(zoom).is_integer() or zoom in (0.25, 0.5) else f"{zoom:.2f}×"


def _bundled_or_problem() -> tuple[list[BundledModel], str | None]:
    """The bundled models; a damaged list leaves the bar empty and says why (checkpoints still open)."""
    try:
        return bundled_models(), None
    except GanStudioError as exc:
        return [], str(exc)


def _scrolling(widget: QWidget, margins: bool = True) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if margins:
        widget.setContentsMargins(6, 6, 6, 6)
    area.setWidget(widget)
    return area


def _line() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line
