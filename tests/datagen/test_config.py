"""GenerateConfig rejects what it cannot honour, naming the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from datagen.config import GenerateConfig, load_config


def test_config_rejects_unknown_exclusions_and_variant_weights(repo_root):
    data = load_config(repo_root / "data" / "generate.yaml").model_dump()
    with pytest.raises(ValidationError, match="not a domain"):
        GenerateConfig.model_validate({**data, "general_exclusions": {"coding": ["spaceport"]}})
    with pytest.raises(ValidationError, match="not a category"):
        GenerateConfig.model_validate({**data, "general_exclusions": {"poetry": ["bank"]}})
    with pytest.raises(ValidationError, match="not flow:variant"):
        GenerateConfig.model_validate({**data, "variant_weights": {"lone_general:naked": 2}})
    with pytest.raises(ValidationError, match="weight > 0"):
        GenerateConfig.model_validate({**data, "variant_weights": {"lone_general:bare": 0}})
