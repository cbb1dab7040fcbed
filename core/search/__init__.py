"""Search for better structures (the Optuna package's only home): studies, spaces, trials, figures.

  python -m core.search --study NAME --trials N --epochs E --train-limit L
                        [--preset P | --space FILE] [--storage URL] [--runs-dir DIR]

Each trial samples a configuration from the study's space (`space`), trains it as a run in the
registry and reports each epoch's validation accuracy to the pruner (the test set never chooses).
The training is handed in by the job package, so nothing here imports TensorFlow.
"""
