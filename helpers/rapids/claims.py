"""Every RAPIDS claim of the collection (notebooks 01 and 02): the published figure, the quote, the rule.

The claims are declared in `claims.toml` beside this module; each of its [NAME] tables is the constant NAME here.
"""

from __future__ import annotations

from pathlib import Path

from helpers.core.claims import Claim, load_declarations

DECLARED = load_declarations(Path(__file__).with_suffix(".toml"))

# ------------------------------------------------------------------------------------------ 01 · dataframes
ETL_TINY_FRACTION: Claim = DECLARED.claims["ETL_TINY_FRACTION"]
CUDF_DROP_IN: Claim = DECLARED.claims["CUDF_DROP_IN"]
CUDF_PANDAS_ZERO_CODE: Claim = DECLARED.claims["CUDF_PANDAS_ZERO_CODE"]
CUDF_SAME_FUNCTIONS: Claim = DECLARED.claims["CUDF_SAME_FUNCTIONS"]
RAPIDS_COUNTERPARTS: Claim = DECLARED.claims["RAPIDS_COUNTERPARTS"]
# A counterpart library is one whose RAPIDS package covers at least half of its core API (fixed before measuring).
COUNTERPART_SHARE = 0.5
COUNTERPART_LIBRARIES = ("pandas", "scikit-learn", "PyTorch", "Matplotlib")

# ------------------------------------------------------------------------------------ 02 · machine learning
RF_HOUR_TO_MINUTES: Claim = DECLARED.claims["RF_HOUR_TO_MINUTES"]
CUML_DOCS_10_TO_50: Claim = DECLARED.claims["CUML_DOCS_10_TO_50"]
CUML_ACCEL_MEDIAN: Claim = DECLARED.claims["CUML_ACCEL_MEDIAN"]
CUML_SAME_ESTIMATORS: Claim = DECLARED.claims["CUML_SAME_ESTIMATORS"]
CUML_NOTEBOOK_ESTIMATORS: Claim = DECLARED.claims["CUML_NOTEBOOK_ESTIMATORS"]
