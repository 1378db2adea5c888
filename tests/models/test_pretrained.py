"""Resolving and loading pretrained checkpoints."""
import pytest

from nlptransfer import ModelLoadError
from nlptransfer.models.pretrained import model_architecture


def test_unreachable_hub_id_names_the_ways_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as e:
        model_architecture("some-org/not-a-cached-model")
    message = str(e.value)
    for hint in ("local folder", "alias", "minilm-l6", "HF_HUB_OFFLINE"):
        assert hint in message
