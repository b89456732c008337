"""Shared helpers for the Faster · Smaller · Lighter notebooks."""

from helpers.claims import Claim, at_least, at_most, greater_than, less_than, within
from helpers.params import require, resolve
from helpers.results import record

__all__ = [
    "Claim",
    "at_least",
    "at_most",
    "greater_than",
    "less_than",
    "within",
    "record",
    "require",
    "resolve",
]
