import pytest

from nlptransfer.config import config_to_dict, load_run_config
from nlptransfer.errors import ConfigError


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: spam\nstrategy: full\nepochs: 5\nlearning_rate: 1.0e-4\n")
    cfg = load_run_config(path, ["strategy=lora", "epochs=2", "learning_rate=3e-5", "early_stopping_patience=none",
                                 "group_by_length=false"])
    assert (cfg.task, cfg.strategy) == ("spam", "lora")
    t = cfg.training
    assert (t.epochs, t.learning_rate, t.early_stopping_patience, t.group_by_length) == (2, 3e-5, None, False)
    assert load_run_config(None, [f"{k}={v}" for k, v in config_to_dict(cfg).items()]) == cfg  # round trip


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match="Unknown config key 'epoch'.*Did you mean 'epochs'"):
        load_run_config(None, ["epoch=3"])


def test_bad_values_are_named():
    with pytest.raises(ConfigError, match="epochs must be of type int; got 'two'"):
        load_run_config(None, ["epochs=two"])
    with pytest.raises(ConfigError, match="strategy must be one of full, frozen, lora, partial, gradual, scratch, contrastive, classic, auto; got 'adapter'"):
        load_run_config(None, ["strategy=adapter"])
    with pytest.raises(ConfigError, match="must look like key=value"):
        load_run_config(None, ["lora"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_config("missing.yaml")
