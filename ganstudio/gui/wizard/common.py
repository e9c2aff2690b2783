"""What every wizard page shares: the draft configuration, and problems that keep Next disabled."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWizardPage

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError, as_sentence


def hint(text: str) -> QLabel:
    """A grey one-line explanation under a choice."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #666; font-size: 11px;")
    return label


def blank() -> QLabel:
    """An empty label for a form row under another row: QFormLayout gives a row without a label its field's size
    hint, not the height for its width, which leaves tall gaps around a wrapped hint."""
    return QLabel()


class WizardPage(QWizardPage):
    """A page that reads and writes the wizard's draft config and lists what stops the user from going on."""

    def __init__(self, title: str, subtitle: str):
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setStyleSheet("color: #b00020; font-weight: bold;")
        self.problem_label.hide()
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #8a5a00;")
        self.warning_label.hide()
        self._loading = False  # True while widgets are filled from the config (no write-backs)

    # the wizard's state ------------------------------------------------------------------------------

    @property
    def config(self) -> RunConfig:
        return self.wizard().config

    def update_config(self, section: str | None = None, **changes) -> None:
        """Write a change into the draft config (ignored while the page fills its widgets)."""
        if self._loading:
            return
        self.wizard().config = self.config.with_updates(section, **changes)
        self.refresh()

    def choose(self, **changes) -> None:
        """Change a choice the run's defaults depend on (see NewRunWizard.choose) and show the new values."""
        if self._loading:
            return
        self.wizard().choose(**changes)
        self.initializePage()

    # validation --------------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Sentences saying why the user cannot go on from this page; empty when all is well."""
        return []

    def warnings(self) -> list[str]:
        """Sentences worth reading that do not block."""
        return []

    def busy(self) -> bool:
        return False

    def with_config_check(self, found: list[str]) -> list[str]:
        """The page's own problems or, when it has none, the configuration's own check (RunConfig.validate) as
        one sentence: the page's problems say it better when there are any."""
        if found:
            return found
        try:
            self.config.validate()
        except GanStudioError as exc:
            return [as_sentence(str(exc), capitalise=True)]
        return []

    def refresh(self) -> None:
        """Show the current problems and warnings and let the wizard update its Next button."""
        problems = self.problems()
        self.problem_label.setText("\n".join(f"⚠ {as_sentence(p, capitalise=True)}" for p in problems))
        self.problem_label.setVisible(bool(problems))
        warnings = self.warnings()
        self.warning_label.setText("\n".join(as_sentence(w, capitalise=True) for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt naming)
        return not self.busy() and not self.problems()

    def initializePage(self) -> None:  # noqa: N802
        self._loading = True
        try:
            self.load()
        finally:
            self._loading = False
        self.refresh()

    def load(self) -> None:
        """Fill the widgets from the draft config."""


def resolved_model(config: RunConfig, preview) -> RunConfig:
    """The config with the model's data-dependent fields filled from the preview, as the trainer will."""
    from dataclasses import replace

    from ganstudio.core.data import native_channels, native_resolution

    d = config.data
    names = tuple(preview.class_names) if preview is not None and config.model.conditional else ()
    model = replace(config.model, num_classes=len(names) if len(names) >= 2 else 0,
                    class_names=names if len(names) >= 2 else (),
                    channels=1 if d.is_toy else (d.channels or native_channels(d.source)),
                    resolution=0 if d.is_toy else (d.resolution or native_resolution(d.source) or 0),
                    toy=d.is_toy)
    return replace(config, model=model)


def parameter_count(config: RunConfig) -> tuple[int, int]:
    """Parameters of G and D for a resolved config."""
    from ganstudio.core.models.registry import build_models

    G, D = build_models(config.model, config.loss)
    return sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters())


def millions(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 100_000 else f"{n / 1e3:.0f} k"
