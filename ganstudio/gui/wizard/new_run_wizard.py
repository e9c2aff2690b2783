"""The new-run wizard: data, model, loss and tricks, schedule, review. Its result is a RunConfig and a folder."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QWidget, QWizard

from ganstudio.core.config import RunConfig
from ganstudio.core.defaults import DEFAULT_SOURCE, RunChoices, choices_of, config_edits, data_family, run_config
from ganstudio.core.errors import GanStudioError
from ganstudio.core.presets import merge
from ganstudio.gui.settings import Settings, default_data_root, default_runs_folder
from ganstudio.gui.wizard.data_page import DataPage
from ganstudio.gui.wizard.loss_page import LossPage
from ganstudio.gui.wizard.model_page import ModelPage
from ganstudio.gui.wizard.review_page import ReviewPage
from ganstudio.gui.wizard.schedule_page import SchedulePage


def initial_config(settings: Settings) -> RunConfig:
    """The wizard's starting point: the last run it made, or the defaults for MNIST (a DCGAN)."""
    base = run_config(RunChoices(source=DEFAULT_SOURCE))
    try:
        config = RunConfig.from_dict(merge(base.to_dict(), settings.wizard)) if settings.wizard else base
    except GanStudioError:
        config = base  # settings from another version: start fresh
    if config.data.root == RunConfig().data.root:  # the command line's ./data means nothing to the app
        config = config.with_updates("data", root=settings.data_root or default_data_root())
    return config


class NewRunWizard(QWizard):
    """Builds a run configuration page by page; each page keeps Next disabled while its choices cannot work."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.config = initial_config(settings)
        self.choices = replace(choices_of(self.config), arch=self.config.model.arch)
        self.preview = None  # the DataPreview of the chosen data, once the data page has it
        self.setWindowTitle("New training run")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.data_page = DataPage()
        self.model_page = ModelPage()
        self.loss_page = LossPage()
        self.schedule_page = SchedulePage()
        self.review_page = ReviewPage()
        for page in (self.data_page, self.model_page, self.loss_page, self.schedule_page, self.review_page):
            self.addPage(page)
        self.resize(940, 700)

    def set_source(self, source: str, source_b: str | None = None, domains: str | None = None) -> None:
        """Choose a data source; moving between toy points and images starts the model and schedule afresh.
        A second folder (`source_b`) or CelebA attributes (`domains`) make it two domains for a CycleGAN, as
        `ganstudio train --data-b` / `--domains` do; leaving them goes back to the family's architecture."""
        from ganstudio.core.models.registry import translation_architectures

        self.config = self.config.with_updates("data", source_b=source_b, domains=domains)
        arch = self.choices.arch
        if source_b is not None or domains is not None:
            arch = "cyclegan"
        elif arch in translation_architectures():
            arch = None  # the family's own (DCGAN for images)
        self.choose(source=source, arch=arch)

    def choose(self, **changes) -> None:
        """Change a choice the run's defaults depend on (source, arch, conditional, resolution, preset) and rebuild
        the configuration from core.defaults, as `ganstudio train` does, keeping the user's own edits. Moving
        between toy points and images keeps only the data settings and the device."""
        edits = config_edits(self.config, run_config(self.choices))
        if "source" in changes and changes["source"] != self.choices.source:
            changes.setdefault("data_side", None)  # known again once the new data's preview is in
        choices = replace(self.choices, **changes)
        if data_family(choices.source) != data_family(self.choices.source):
            choices = replace(choices, arch=None, conditional=None, resolution=None, preset=None)
            device = edits.get("train", {}).get("device")
            edits = {"data": edits.get("data", {}), "train": {"device": device} if device else {}}
        self.config = run_config(choices, edits)
        self.choices = replace(choices, arch=self.config.model.arch)  # the wizard always shows an architecture

    def default_resolution(self) -> int | None:
        """The side the run gets when the user picks none: the data's own, the architecture's, or what the
        images allow (None for toy points)."""
        if self.config.data.is_toy:
            return None
        from ganstudio.core.data import native_resolution

        built = run_config(replace(self.choices, resolution=None))
        return built.data.resolution or native_resolution(built.data.source)

    def drop_preset(self) -> None:
        """Forget the preset's name but keep its values, to edit by hand."""
        self.choices = replace(self.choices, preset=None)
        self.config = self.config.with_updates(preset=None)

    def runs_folder(self) -> str:
        return self.settings.runs_folder or default_runs_folder()

    def run_dir(self) -> Path:
        return self.review_page.run_dir

    def result_config(self) -> RunConfig:
        """The finished configuration, named after the run."""
        return self.config.with_updates(name=self.review_page.name.text().strip())

    def shutdown(self) -> None:
        """Cancel the background work of every page and wait for its threads."""
        self.data_page.shutdown()
        self.review_page.shutdown()

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        """Remember the choices when the user starts the run; cancel background work without waiting for it
        (a warm-up step may take seconds; the main window joins the threads before the app quits)."""
        self.data_page.cancel()
        self.review_page.cancel_estimate()
        if result == QWizard.DialogCode.Accepted:
            self.settings.wizard = self.config.with_updates(name="run").to_dict()
            self.settings.runs_folder = str(Path(self.review_page.parent_folder.text().strip()).expanduser())
            if self.config.data.is_folder:
                self.settings.remember("recent_data_folders", self.config.data.source[len("folder:"):])
            elif not self.config.data.is_toy:
                self.settings.data_root = self.config.data.root
        super().done(result)
