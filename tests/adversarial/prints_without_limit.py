"""Implements nothing; prints 60 MB to stdout and stderr while being imported."""
import sys

from assignments import *  # noqa: F401,F403

line = "Score: 54/54 " * 100 + "\n"
for _ in range(30000):
    sys.stdout.write(line)
    sys.stderr.write(line)
