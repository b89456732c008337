"""Core: results, claims and verdicts, profiles and parameters, environment, timing, plotting; imports no topic."""
