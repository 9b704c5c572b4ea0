"""The graded tests of the assignment, run by `pytest --impl MODULE` or `keras_vae.grade`."""
