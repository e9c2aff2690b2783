"""The main window: a Train area and an Explore area, the menus, and the device in the status bar."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget, QTabWidget, QWizard,
)

from ganstudio.core.config import RunConfig
from ganstudio.core.runs import RunFolder
from ganstudio.core.bundled import DEFAULT_MODEL
from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.gui.settings import Settings, load_session, load_settings, save_session, save_settings
from ganstudio.gui.widgets.about_dialog import AboutDialog
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.widgets.training_view import TrainingView
from ganstudio.gui.widgets.translate_dialog import TranslateDialog
from ganstudio.gui.widgets.welcome_page import WelcomePage
from ganstudio.gui.workers import NewRun, TrainingSession, discard_spare, prestart_trainer
from ganstudio.gui.wizard.new_run_wizard import NewRunWizard

log = logging.getLogger(__name__)
CHECKPOINT_FILTER = ("Models (*.safetensors *.pkl *.pt *.pth);;GAN Studio checkpoints (*.safetensors);;"
                     "NVIDIA StyleGAN2/StyleGAN3 network pickles (*.pkl);;"
                     "rosinality stylegan2-pytorch checkpoints (*.pt *.pth);;All files (*)")
LATENT_FILTER = "Latent files (*.npz);;All files (*)"


def _same(a: str | Path, b: str | Path) -> bool:
    """Two paths name the same folder."""
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def default_device_text() -> str:
    """The device a new run uses by default, in words."""
    from ganstudio.core.device import device_name, resolve_device

    return device_name(resolve_device("auto"))


class MainWindow(QMainWindow):
    """Menus, the Train area (welcome page or a run) and the Explore area."""

    def __init__(self, settings: Settings | None = None, settings_file: Path | None = None):
        super().__init__()
        self.settings_file = settings_file
        self.settings = settings if settings is not None else load_settings(settings_file)
        self.setWindowTitle("GAN Studio")
        self.wizard: NewRunWizard | None = None
        self.pretrained_dialog = None  # File > Get pretrained models, made when first asked for
        self.photo_dialog = None  # File > Edit a photo, made when first asked for
        self._closing = False
        self.device_text = default_device_text()

        self.welcome = WelcomePage()
        self.view: TrainingView | None = None
        self.train_stack = QStackedWidget()
        self.train_stack.addWidget(self.welcome)
        self.explore = ExplorerView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.train_stack, "Train")
        self.tabs.addTab(self.explore, "Explore")
        self.setCentralWidget(self.tabs)

        self.device_label = QLabel(f"Device: {self.device_text}")
        self.device_label.setToolTip("The device new runs use unless the wizard says otherwise")
        self.statusBar().addPermanentWidget(self.device_label)
        self._build_menus()

        self.welcome.new_run_requested.connect(self.new_run)
        self.welcome.open_run_requested.connect(self.choose_run)
        self.welcome.recent_run_chosen.connect(self.open_run)
        self.welcome.explore_run_requested.connect(self.open_checkpoint)
        self.welcome.remove_run_requested.connect(self.forget_run)
        self.welcome.current_run_requested.connect(self.show_run)
        self.explore.open_checkpoint_requested.connect(self.choose_checkpoint)
        self.explore.checkpoint_opened.connect(lambda path: self._remember("recent_checkpoints", path))
        self.translate_dialogs: list[TranslateDialog] = []  # open Translate windows (they join their workers)
        self._pending_session: dict | None = None  # the last launch's explorer, reopened when Explore is shown
        self.tabs.currentChanged.connect(self._explore_shown)
        self.welcome.set_recent(self.settings.recent_runs)
        self._restore_geometry()

    # -- menus ---------------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New run…", self.new_run, QKeySequence.StandardKey.New)
        self.open_action = self._action(file_menu, "&Open run…", self.choose_run, QKeySequence.StandardKey.Open)
        self.open_checkpoint_action = self._action(file_menu, "Open &checkpoint…", self.choose_checkpoint,
                                                   QKeySequence("Ctrl+Shift+O"))
        self.recent_menu = file_menu.addMenu("&Recent runs")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.pretrained_menu = file_menu.addMenu("Open &pretrained model")
        for model in self.explore.bundled_models:
            self.pretrained_menu.addAction(model.title, lambda m=model: self.open_bundled(m.key)).setToolTip(
                model.description)
        self.pretrained_menu.setEnabled(bool(self.explore.bundled_models))
        self.get_models_action = self._action(file_menu, "&Get pretrained models…", self.show_pretrained_models)
        self.edit_photo_action = self._action(file_menu, "&Edit a photo…", self.edit_photo)
        file_menu.setToolTipsVisible(True)  # the photo action says why it is disabled
        self.explore.model.opened.connect(self._update_photo_action)
        self._update_photo_action()
        self.open_latent_action = self._action(file_menu, "Open &latent…", self.choose_latent)
        self.save_latent_action = self._action(file_menu, "&Save latent…", self.choose_latent_file)
        self.explore.model.opened.connect(self._update_latent_actions)
        self._update_latent_actions()
        self.translate_action = self._action(file_menu, "&Translate images with a CycleGAN…",
                                             self.choose_translator)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = self._action(help_menu, "&About GAN Studio", self.show_about)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        if not self.settings.recent_runs:
            self.recent_menu.addAction("No recent runs").setEnabled(False)
            return
        for path in self.settings.recent_runs:
            action = self.recent_menu.addAction(f"{Path(path).name}  ({path})")
            action.setEnabled(RunFolder.is_run(path))
            action.triggered.connect(lambda checked=False, p=path: self.open_run(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear the list").triggered.connect(self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_runs.clear()
        self.welcome.set_recent([])
        self.save_settings()

    # -- runs ----------------------------------------------------------------------------------------

    @property
    def is_training(self) -> bool:
        return self.view is not None and self.view.is_training

    def _refuse_while_training(self) -> bool:
        if self.is_training:
            QMessageBox.information(self, "GAN Studio", "A run is training. Stop it first (its checkpoint is "
                                    "saved), then start or open another run.")
            return True
        return False

    def new_run(self) -> None:
        """Open the new-run wizard; Start training begins the run in the Train area."""
        if self._refuse_while_training():
            return
        if self.wizard is not None:
            self.wizard.raise_()
            return
        prestart_trainer()  # while the user fills in the wizard, the trainer process imports torch
        self.wizard = NewRunWizard(self.settings, self)
        self.wizard.finished.connect(self._on_wizard_finished)
        self.wizard.open()

    def _on_wizard_finished(self, result: int) -> None:
        wizard, self.wizard = self.wizard, None
        if wizard is None:
            return
        if result == QWizard.DialogCode.Accepted:
            self.start_run(wizard.result_config(), wizard.run_dir())
        else:
            discard_spare()
        self.save_settings()
        wizard.deleteLater()

    def start_run(self, config: RunConfig, run_dir: str | Path) -> TrainingView:
        """Train a new run and show it."""
        # The trainer process starts first: its interpreter and imports take seconds, building the view less.
        session = TrainingSession(NewRun(config, Path(run_dir)), threads=self.settings.cpu_threads)
        session.start()
        view = self._new_view()
        view.start_new(config, run_dir, session)
        return view

    def choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", self.settings.runs_folder or "")
        if folder:
            self.open_run(folder)

    def open_run(self, path: str | Path) -> TrainingView | None:
        """Show a run from its folder: plots, grids, config; it can be resumed from there."""
        if self.view is not None and self.view.run_dir is not None and _same(self.view.run_dir, path):
            self.show_run()  # the run on show (perhaps training): back to it
            return self.view
        if self._refuse_while_training():
            return None
        view = TrainingView(self.settings)
        try:
            view.open_run(path)
        except GanStudioError as exc:
            view.deleteLater()
            log.warning("could not open the run %s: %s", path, exc)
            QMessageBox.warning(self, "Cannot open the run", as_sentence(str(exc)))
            return None
        log.info("opened the run %s", path)
        self._show_view(view)
        self._remember("recent_runs", path)
        return view

    def _new_view(self) -> TrainingView:
        view = TrainingView(self.settings)
        self._show_view(view)
        return view

    def show_runs_list(self) -> None:
        """The Train page's start: new run, open run, recent runs (a run in progress keeps training)."""
        self.welcome.set_recent(self.settings.recent_runs)
        if self.view is not None and self.view.config is not None:
            self.welcome.set_current(self.view.config.name, self.is_training)
        self.train_stack.setCurrentWidget(self.welcome)
        self.tabs.setCurrentWidget(self.train_stack)

    def show_run(self) -> None:
        """The run on show, again (after the list of runs)."""
        if self.view is not None:
            self.train_stack.setCurrentWidget(self.view)
            self.tabs.setCurrentWidget(self.train_stack)

    def forget_run(self, path: str) -> None:
        """Take a run off the recent list (its folder is kept)."""
        self.settings.recent_runs[:] = [p for p in self.settings.recent_runs if p != path]
        self.welcome.set_recent(self.settings.recent_runs)
        self.save_settings()

    def _show_view(self, view: TrainingView) -> None:
        old, self.view = self.view, view
        view.run_started.connect(lambda path: self._remember("recent_runs", path))
        view.explore_requested.connect(self.open_checkpoint)
        view.translate_requested.connect(self.open_translator)
        view.back_requested.connect(self.show_runs_list)
        view.device_changed.connect(lambda text: self.device_label.setText(f"Device: {text}"))
        self.train_stack.addWidget(view)
        self.train_stack.setCurrentWidget(view)
        self.tabs.setCurrentWidget(self.train_stack)
        if old is not None:
            self.train_stack.removeWidget(old)
            old.deleteLater()

    # -- checkpoints ---------------------------------------------------------------------------------

    def choose_checkpoint(self) -> None:
        start = self.settings.recent_checkpoints[0] if self.settings.recent_checkpoints else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint or a StyleGAN model", start, CHECKPOINT_FILTER)
        if path:
            self.open_checkpoint(path)

    def _update_latent_actions(self, *_) -> None:
        """Latent files hold a StyleGAN's W+: the actions need one open in the explorer."""
        available = self.explore.latent_files.available
        for action, tip in ((self.open_latent_action, "Show a saved latent (.npz from Edit a photo, ganstudio "
                             "project or drag) as the explorer's image, to edit with the sliders"),
                            (self.save_latent_action, "Save the explorer's current image as a latent file (.npz), "
                             "slider edits included")):
            action.setEnabled(available)
            action.setToolTip(tip if available else "Open a StyleGAN model in the explorer first")

    def choose_latent(self) -> None:
        """File > Open latent: a latent file for the explorer's StyleGAN becomes its current image."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a latent", self._latent_folder(), LATENT_FILTER)
        if path:
            self.tabs.setCurrentWidget(self.explore)
            self.explore.open_latent(path)

    def choose_latent_file(self) -> None:
        """File > Save latent: the explorer's current image as a latent file."""
        start = str(Path(self._latent_folder()) / "latent.npz")
        path, _ = QFileDialog.getSaveFileName(self, "Save the current image's latent", start, LATENT_FILTER)
        if path:
            self.explore.save_latent(path)

    def _latent_folder(self) -> str:
        """Where the latent dialogs start: the folder of the explorer's model file, if it has one."""
        info = self.explore.model.info
        return str(info.path.parent if info is not None and info.path is not None else Path.home())

    def choose_translator(self) -> None:
        """Ask for a CycleGAN checkpoint (or run folder's checkpoint) and open it in the Translate window."""
        start = self.settings.recent_checkpoints[0] if self.settings.recent_checkpoints else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a CycleGAN checkpoint", start,
                                              "GAN Studio checkpoints (*.safetensors)")
        if path:
            self.open_translator(path)

    def open_translator(self, path: str | Path) -> TranslateDialog:
        """Show the Translate window of a CycleGAN checkpoint (it says in one sentence when it is not one)."""
        dialog = TranslateDialog(path, self)
        dialog.show()
        self.translate_dialogs = [d for d in self.translate_dialogs if d.isVisible()] + [dialog]
        return dialog

    def open_checkpoint(self, path: str | Path) -> None:
        """Show what a checkpoint, run folder, NVIDIA `.pkl` or rosinality `.pt` holds in the Explore area: it is
        read and built on a worker thread; a refused file is explained in one sentence."""
        self._pending_session = None
        self.tabs.setCurrentWidget(self.explore)
        self.explore.open_in_background(path)

    def open_bundled(self, key: str) -> bool:
        """Show a pretrained model shipped with the app in the Explore area."""
        model = next((m for m in self.explore.bundled_models if m.key == key), None)
        if model is None:
            return False
        self.tabs.setCurrentWidget(self.explore)
        self._pending_session = None  # chosen now: the last launch's model is not reopened on top
        return self.explore.open_bundled(model)

    def open_start_page(self) -> None:
        """What the app shows when it starts: on the very first launch, the explorer with the pretrained face
        model and its named sliders; later, the area that was open when the app closed (the explorer again with
        the face model, or the Train area)."""
        first = not self.settings.opened_before
        self._pending_session = None if first else load_session(self.settings_file)
        if first or self.settings.last_tab == "explore":
            self.tabs.setCurrentWidget(self.explore)  # reopens the last launch's model, if there is one
            if not self.explore.model.is_open and not self.explore.model.opening:
                if not self.open_bundled(DEFAULT_MODEL) and self.explore.bundled_models:
                    self.open_bundled(self.explore.bundled_models[0].key)
        if first:
            self.settings.opened_before = True
            self.save_settings()

    def show_pretrained_models(self):
        """The Get pretrained models dialog (NVIDIA's StyleGAN releases); Open explores the downloaded file."""
        from ganstudio.gui.widgets.pretrained_dialog import PretrainedDialog

        if self.pretrained_dialog is None:
            self.pretrained_dialog = PretrainedDialog(parent=self)
            self.pretrained_dialog.open_requested.connect(self.open_checkpoint)
        self.pretrained_dialog.show()
        self.pretrained_dialog.raise_()
        return self.pretrained_dialog

    def _explore_shown(self) -> None:
        """The first time Explore is shown after a launch, reopen the model the explorer had when the app closed
        (with its seed, truncation and sliders); a model no longer on disk is skipped with a note."""
        if self.tabs.currentWidget() is not self.explore or self._pending_session is None:
            return
        from ganstudio.core.explorer import read_session

        record, self._pending_session = read_session(self._pending_session), None
        model = self.explore.model
        if record is None or model.is_open or model.opening:
            return
        where, saved = record
        if where.get("bundled"):
            if any(m.key == where["bundled"] for m in self.explore.bundled_models):
                model.remember_for_later(where["key"], saved)
                self.open_bundled(where["bundled"])
            return
        path = Path(str(where.get("path", "")))
        if not where.get("path") or not path.exists():
            log.info("the explorer's last model %s is no longer there", path)
            self.statusBar().showMessage(f"The last model explored, {path.name}, is no longer at {path.parent}", 15_000)
            return
        model.remember_for_later(where["key"], saved)
        self.explore.open_in_background(path)

    # -- help, settings, closing ---------------------------------------------------------------------

    def _update_photo_action(self, *_) -> None:
        from ganstudio.gui.photo.edit_photo_dialog import photo_action_problem

        problem = photo_action_problem(self.explore)
        self.edit_photo_action.setEnabled(problem is None)
        self.edit_photo_action.setToolTip(as_sentence(problem) if problem else
                                          "Project a face photo into the explorer's StyleGAN, then edit it")

    def edit_photo(self):
        """File > Edit a photo: the photo dialog for the explorer's StyleGAN (non-modal)."""
        from ganstudio.gui.photo.edit_photo_dialog import EditPhotoDialog

        if self.photo_dialog is not None:
            if self.photo_dialog.fits_explorer() or self.photo_dialog.running:
                self.photo_dialog.show()
                self.photo_dialog.raise_()
                return self.photo_dialog
            self.photo_dialog.close()
            self.photo_dialog.deleteLater()
        try:
            self.photo_dialog = EditPhotoDialog(self.explore, self)
        except GanStudioError as exc:
            self.photo_dialog = None
            self.statusBar().showMessage(as_sentence(str(exc)), 8000)
            return None
        self.photo_dialog.latent_shown.connect(lambda: self.tabs.setCurrentWidget(self.explore))
        self.photo_dialog.show()
        return self.photo_dialog

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.device_text, self)
        dialog.show()
        return dialog

    def _remember(self, kind: str, path: str | Path) -> None:
        self.settings.remember(kind, path)
        if kind == "recent_runs":
            self.welcome.set_recent(self.settings.recent_runs)
        self.save_settings()

    def save_settings(self) -> None:
        self.settings.last_tab = "explore" if self.tabs.currentWidget() is self.explore else "train"
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.window_state = bytes(self.saveState().toBase64()).decode("ascii")
        problem = save_settings(self.settings, self.settings_file)
        if problem:
            self.statusBar().showMessage(f"Settings not saved: {problem}", 10_000)

    def save_session(self) -> None:
        """Keep the explorer's model and choices for the next launch (unchanged when no model was opened)."""
        record = self.explore.model.session()
        problem = save_session(record, self.settings_file) if record is not None else ""
        if problem:
            log.warning("the explorer's session was not saved: %s", problem)

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode("ascii")))
        else:
            self.resize(1280, 820)
        if self.settings.window_state:
            self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode("ascii")))

    def confirm_stop(self) -> bool:
        """Ask whether to stop a training run so that the window can close."""
        answer = QMessageBox.question(
            self, "Stop training?", "A run is training. Stop it and quit? A checkpoint is saved first, so the run "
            "can be resumed later.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        if self.is_training:
            event.ignore()  # the window closes once the worker has stopped and saved (it stays responsive)
            if not self._closing and self.confirm_stop():
                self._closing = True
                self.statusBar().showMessage("Stopping the run and saving a checkpoint; the window closes then…")
                self.view.session.ended.connect(self.close)
                self.view.stop()
            return
        if self.view is not None:
            self.view.shutdown()  # the worker has ended: join its thread
        if self.wizard is not None:
            self.wizard.reject()
        if self.pretrained_dialog is not None:
            self.pretrained_dialog.stop()  # cancels a download (kept for a resume) and joins its thread
        if self.photo_dialog is not None:
            self.photo_dialog.close()  # cancels a projection and joins its thread
        discard_spare()  # a trainer process started for a run that was not started
        self.explore.shutdown()  # joins the render thread and any direction or export task
        for dialog in self.translate_dialogs:
            dialog.shutdown()
        self.save_session()
        self.save_settings()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Join every worker thread (training and wizard tasks) before the application quits."""
        from ganstudio.gui.threads import join_all_threads

        join_all_threads()

