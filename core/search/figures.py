"""The Search page's figures: Optuna's own Plotly charts of a study."""

from __future__ import annotations

from typing import Any

import optuna


def figures(study: optuna.Study) -> dict[str, Any]:
    """Optuna's own Plotly figures: those that need two finished trials appear once there are."""
    from optuna import visualization

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    shown = {}
    if finished:
        shown["Optimisation history"] = visualization.plot_optimization_history(study)
    if len(finished) >= 2:
        shown["Parallel coordinates"] = visualization.plot_parallel_coordinate(study)
        shown["Parameter importances"] = visualization.plot_param_importances(study)
    return shown
