"""Implements nothing; never finishes being imported."""
import time

while True:
    time.sleep(60)
