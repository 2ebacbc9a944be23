"""Presets load, overrides apply in order, bad settings give one-line errors."""

from __future__ import annotations

import pytest

from tunegate.errors import TunegateError
from tunegate.train.config import (
    PRESETS,
    TrainConfig,
    config_diff,
    load_preset,
    parse_layers,
    parse_modules,
    resolve_config,
)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_sets_only_known_fields(name: str) -> None:
    raw = load_preset(name)
    assert raw and set(raw) <= set(TrainConfig.model_fields)
    cfg = resolve_config(name)
    for key, value in raw.items():
        assert getattr(cfg, key) == value


def test_presets_differ_in_cost() -> None:
    quick, balanced, quality = (resolve_config(n) for n in PRESETS)
    assert quick.layers != quality.layers
    assert quick.epochs <= balanced.epochs <= quality.epochs


def test_overrides_apply_preset_then_task_then_options() -> None:
    cfg = resolve_config("quick", {"lr": 1e-4, "rank": 4}, {"lr": 3e-4, "epochs": None})
    assert cfg.lr == 3e-4  # option beats task file
    assert cfg.rank == 4  # task file beats preset
    assert cfg.epochs == load_preset("quick")["epochs"]  # None means "not given"
    assert resolve_config(None).model_dump() == resolve_config("balanced").model_dump()


def test_preset_can_be_a_yaml_file(tmp_path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("rank: 4\nlayers: [0, 1]\n")
    cfg = resolve_config(f)
    assert (cfg.rank, cfg.layers) == (4, [0, 1])


def test_unknown_task_setting_names_the_key_and_suggests(tmp_path) -> None:
    with pytest.raises(TunegateError) as err:
        resolve_config("quick", {"learning_rat": 1e-3}, task_source="t/tunegate.yaml")
    msg = str(err.value)
    assert msg.startswith("t/tunegate.yaml: unknown training setting 'train.learning_rat'")
    assert "\n" not in msg


def test_bad_values_name_the_field() -> None:
    with pytest.raises(TunegateError, match=r"options: lr: Input should be greater than 0"):
        resolve_config("quick", None, {"lr": -1})
    with pytest.raises(TunegateError, match="train.schedule"):
        resolve_config("quick", {"schedule": "sawtooth"})
    with pytest.raises(TunegateError, match="layers: expected a positive number"):
        resolve_config("quick", None, {"layers": 0})


def test_unknown_preset_suggests() -> None:
    with pytest.raises(TunegateError, match="unknown preset 'quik' \\(did you mean 'quick'\\?\\)"):
        resolve_config("quik")


def test_cli_forms() -> None:
    assert parse_layers("8") == 8
    assert parse_layers("20,21") == [20, 21]
    assert parse_layers("all") == "all"
    assert parse_modules("q_proj, v_proj") == ["q_proj", "v_proj"]
    with pytest.raises(TunegateError, match="--layers"):
        parse_layers("top")


def test_config_diff_ignores_runtime_only_settings() -> None:
    a = resolve_config("quick").model_dump()
    b = {**a, "lr": 0.5, "threads": 1}
    assert config_diff(a, b) == [f"lr {a['lr']!r} -> 0.5"]
