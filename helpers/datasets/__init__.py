"""Data sets shared by several topics (the synthetic airline flights of notebooks 01–03)."""
