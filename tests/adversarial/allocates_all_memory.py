"""Implements nothing; allocates memory until something stops it."""
from assignments import *  # noqa: F401,F403

hoard = []
while True:
    hoard.append(bytearray(64 * 2**20))  # bytearray zero-fills, so the pages are resident
