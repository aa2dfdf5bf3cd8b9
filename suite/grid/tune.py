"""Tuning before the grid: per (dataset, student, kind, data view), the training options named in a suite's
`[tune]` table (learning rate and patience for every student; loss, temperature and alpha for distilled ones)
are chosen on validation accuracy by Optuna's TPE sampler, `trials` cells each. A scratch twin gets the same
budget as its distilled twins, so the comparison stays fair. The grid's cells then run with the chosen values,
which their records (and leaderboard rows) carry as training options.

Each trial is an ordinary cell, run by the same executor into `OUT/tuning/`, so trials are cached: a rerun, or
a run resumed after a kill, replays them, and the seeded sampler asks the same values given the same answers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kdsuite.config import Cell
from kdsuite.grid.runner import run_cells

def _suggest(trial, tune: dict, kind: str) -> dict:
    params = {}
    if "learning_rate" in tune:
        lo, hi = tune["learning_rate"]
        params["learning_rate"] = float(f"{trial.suggest_float('learning_rate', lo, hi, log=True):.3g}")
    if "patience" in tune:
        params["patience"] = trial.suggest_int("patience", *tune["patience"])
    if kind == "scratch":
        return params
    if "loss" in tune:
        params["loss"] = trial.suggest_categorical("loss", list(tune["loss"]))
    if "temperature" in tune:
        params["temperature"] = float(f"{trial.suggest_float('temperature', *tune['temperature']):.2g}")
    if "alpha" in tune and params.get("loss") == "ce+kl":
        params["alpha"] = float(f"{trial.suggest_float('alpha', *tune['alpha']):.2g}")
    return params


def _group(cell: Cell) -> tuple:
    return cell.dataset, cell.model, cell.kind, cell.backend, cell.teacher, tuple(cell.data.items())


def tune_cells(cells: list[Cell], tune: dict, out: Path, data_dir: str | None, suite_name: str = "",
               log=print) -> list[Cell]:
    """`cells` with the tuned training options of their group; trials run (or are read back) first."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen: dict[tuple, dict] = {}
    for cell in cells:
        if cell.kind not in ("scratch", "kd", "kd+transfer") or _group(cell) in chosen:
            continue
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=tune.get("seed", 0)))
        tried = {}
        for i in range(tune["trials"]):
            trial = study.ask()
            tried[trial.number] = _suggest(trial, tune, cell.kind)
            trial_cell = replace(cell, seed=tune.get("seed", 0), train=cell.train | tried[trial.number])
            [record] = run_cells([trial_cell], Path(out) / "tuning", data_dir, suite_name,
                                 log=lambda m, i=i: log(f"tune {i + 1}/{tune['trials']} " + m.split("] ", 1)[-1]))
            if record.status == "ok":
                study.tell(trial, record.val_accuracy)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = max(done, key=lambda t: t.value) if done else None
        chosen[_group(cell)] = tried[best.number] if best else {}
        log(f"tuned {cell.label.rsplit(' seed', 1)[0]}: {chosen[_group(cell)] or 'no finished trial, defaults kept'}"
            + (f" (validation accuracy {best.value:.4f})" if best else ""))
    return [replace(c, train=c.train | chosen.get(_group(c), {})) for c in cells]
