"""Tables, numbers and progress bars the commands print: plain text, no colour."""
from __future__ import annotations

import sys
import time

def data_help() -> str:
    """The data sources as --help lists them."""
    from ganstudio.core.config import DATA_SOURCES, TOY_NAMES

    return ", ".join(DATA_SOURCES + tuple(f"toy:{t}" for t in TOY_NAMES) + ("folder:PATH",))


def fmt(value: float | None) -> str:
    """A loss or score with four decimals, or - when there is none."""
    return "-" if value is None else f"{value:.4f}"


def run_with_progress(trainer, quiet: bool):
    """Iterate a Trainer with a progress bar on stderr; returns the last step report."""
    from tqdm import tqdm

    last = None
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", disable=quiet,
               dynamic_ncols=True, file=sys.stderr)
    next_postfix = 0.0
    with bar:
        for report in trainer:
            last = report
            bar.update(1)
            now = time.monotonic()
            if now >= next_postfix:  # refreshing the text every step would cost more than small steps
                bar.set_postfix_str(f"ep {report.epoch:.2f} D {fmt(report.loss_d)} G {fmt(report.loss_g)} "
                                    f"D(x) {fmt(report.d_real)} D(G(z)) {fmt(report.d_fake)} "
                                    f"{report.images_per_sec:.0f} img/s", refresh=False)
                next_postfix = now + 0.5
    return last


def eval_progress(bars: dict):
    """A progress callback for the Evaluator that keeps one tqdm bar per stage in `bars`."""
    from tqdm import tqdm

    names = {"real": "real data features", "generated": "generated samples"}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = tqdm(total=total, desc=names.get(stage, stage), unit="img", file=sys.stderr,
                               dynamic_ncols=True, leave=False)
        bars[stage].update(done - bars[stage].n)
    return progress


def eval_table(record: dict, metrics) -> str:
    """The results of an evaluation as an aligned plain-text table."""
    def num(key: str, spec: str = ".4f") -> str:
        value = record.get(key)
        return "undefined (non-finite samples)" if value is None else format(value, spec)

    rows = []
    for name in metrics:
        if name == "fid":
            rows.append(("FID", num("fid", ".3f")))
        elif name == "kid":
            spread = f" +- {record['kid_std']:.5f}" if record.get("kid_std") is not None else ""
            rows.append(("KID", num("kid", ".5f") + spread))
        elif name == "is":
            rows.append(("IS" if record["extractor"] in ("inception", "fid-inception") else "IS (analogue)",
                         f"{num('is', '.3f')} +- {num('is_std', '.3f')}"))
        elif name == "pr":
            rows += [("precision", num("precision")), ("recall", num("recall"))]
        elif name == "dc":
            rows += [("density", num("density")), ("coverage", num("coverage"))]
        elif name == "modes":
            rows += [("modes covered", f"{record['modes_covered']} of {record['modes_total']}"),
                     ("high quality", f"{record['high_quality']:.1%}")]
        elif name == "classes":
            rows.append(("class KL", num("class_kl")))
            if "classes_covered" in record:
                rows.append(("classes covered", f"{record['classes_covered']} of {record['classes_total']}"))
            if "class_accuracy" in record:
                rows.append(("class accuracy", f"{record['class_accuracy']:.1%}"))
            if "class_histogram" in record and len(record["class_histogram"]) <= 20:
                rows.append(("class histogram", " ".join(f"{v:.2f}" for v in record["class_histogram"])))
    head = (f"{record['checkpoint']} (step {record.get('step', '?')}) against {record['data']}: "
            f"{record['n']:,} generated vs {record['n_real']:,} real samples, {record['extractor']} features, "
            f"{record['seconds']:.1f} s")
    width = max(len(r[0]) for r in rows) if rows else 0
    return "\n".join([head] + [f"  {label:<{width}}  {value}" for label, value in rows])


def format_direction_checks(checks) -> str:
    """A plain-text table of check_directions() results."""
    head = "attribute      " + " ".join(f"{a:>+6.0f}" for a in checks[0].amounts) + "  monotonic  rising  rho"
    rows = [f"{c.attribute:<14} " + " ".join(f"{p:6.3f}" for p in c.mean_probability)
            + f"  {c.monotonic_share:9.0%}  {c.rising_share:6.0%}  {c.spearman:.2f}" for c in checks]
    return "\n".join([head, *rows])
