"""Every RAPIDS claim of the collection (notebooks 01 and 02): the published figure, the quote, the rule.

The claims are declared in `claims.toml` beside this module; each of its [NAME] tables is the constant NAME here.
"""

from __future__ import annotations

from pathlib import Path

from helpers.core.claims import load_declarations

DECLARED = load_declarations(Path(__file__).with_suffix(".toml"))
globals().update(DECLARED.claims)

# A counterpart library is one whose RAPIDS package covers at least half of its core API (fixed before measuring).
COUNTERPART_SHARE = 0.5
COUNTERPART_LIBRARIES = ("pandas", "scikit-learn", "PyTorch", "Matplotlib")
