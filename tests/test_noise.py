"""helpers.core.noise: the known library messages are dropped, and only those."""

from __future__ import annotations

import logging
import warnings

import pytest

from helpers.core.noise import LOG_FILTERS, silence_known_noise

SAMPLES = {
    "": "Please consider to run pre-processing before quantization. Refer to example: https://github.com/...",
    "torchao": "Failed to load /x/site-packages/torchao/_C_mxfp8.abi3.so: Could not load this library",
    "torch.utils._pytree": "<enum 'KernelPreference'> is an Enum subclass and is now natively supported by "
    "torch.compile as an opaque value type.",
    "mlflow.store.db.utils": "Creating initial MLflow database tables...",
    "mlflow.sklearn": "Saving scikit-learn models in the pickle or cloudpickle format requires exercising caution",
}


@pytest.mark.parametrize("name", sorted(LOG_FILTERS))
def test_known_log_messages_are_dropped_and_others_kept(name, caplog):
    silence_known_noise()
    silence_known_noise()  # idempotent: one filter per logger
    logger = logging.getLogger(name)
    assert len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=name):
        logger.warning(SAMPLES[name])
        logger.warning("something else went wrong")
    logged_as = name or "root"  # the root logger, which onnxruntime.quantization logs to, is named "root"
    assert [r.getMessage() for r in caplog.records if r.name == logged_as] == ["something else went wrong"]


def test_leafspec_future_warning_is_filtered_and_other_future_warnings_are_not():
    silence_known_noise()
    with warnings.catch_warnings(record=True) as caught:
        silence_known_noise()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
        warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else is deprecated"]
