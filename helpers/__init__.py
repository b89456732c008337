"""Shared helpers for the Faster · Smaller · Lighter notebooks."""

from helpers.core.claims import Claim, at_least, at_most, greater_than, less_than, within
from helpers.core.conclusions import what_we_found
from helpers.core.noise import silence_known_noise
from helpers.core.params import require, resolve
from helpers.core.results import record

silence_known_noise()

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
    "what_we_found",
]
