"""What runs in a job process (`python -m core.jobs <kind> <target>`): the only package that
imports TensorFlow or Keras. Training (worker, callbacks, models), conversion to LiteRT, and the
bodies of the import, ensemble, evaluation and search jobs.
"""
