"""A submission that raises while it is imported."""
raise RuntimeError("a typo in the student's module")
