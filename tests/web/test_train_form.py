"""The Train page's form is generated from `TrainConfig`: every setting with its help, default and
range; a preset refills it; the shown command parses, through the real CLI, to the same settings;
an out-of-range value is shown by its field and starts nothing."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tunegate.init import init_task
from tunegate.store import Store
from tunegate.train.config import TrainConfig, resolve_config
from tunegate.web.app import create_app
from tunegate.web.train_form import show
from web.conftest import demo_slice


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws" / "tickets"
    (folder / "data").mkdir(parents=True)
    init_task(folder, from_data=demo_slice(folder / "data" / "tickets.jsonl"))
    return tmp_path / "ws"


def values(page: str) -> dict[str, str]:
    """The form's fields as a browser would submit them."""
    out = {
        n: html.unescape(v)
        for n, v in re.findall(r'<input id="f-\w+" name="(\w+)" value="([^"]*)"', page)
    }
    for name, body in re.findall(
        r'<select id="f-\w+" name="(\w+)"[^>]*>(.*?)</select>', page, re.S
    ):
        out[name] = re.search(r'<option value="([^"]+)" selected>', body).group(1)
    for name in re.findall(
        r'<input type="checkbox" id="f-\w+" name="(\w+)" value="true" checked', page
    ):
        out[name] = "true"
    return out


def test_every_setting_has_a_labelled_field_with_its_help(ws: Path) -> None:
    with TestClient(create_app(ws)) as c:
        page = c.get("/tasks/tickets/train").text
    for name, info in TrainConfig.model_fields.items():
        assert f'<label for="f-{name}"' in page or f'<label class="check" for="f-{name}"' in page
        help_text = re.search(rf'<span class="help" id="h-{name}">(.*?)</span>', page, re.S)
        assert help_text is not None, name
        assert html.unescape(help_text.group(1)).startswith(info.description or ""), name
    assert "Default 16; &gt; 0." in page  # rank: its default and range
    assert '<option value="cosine" selected>' in page or "schedule" in page


def test_a_preset_fills_the_form(ws: Path) -> None:
    with TestClient(create_app(ws)) as c:
        for preset in ("quick", "quality"):
            page = c.get(f"/tasks/tickets/train?preset={preset}", headers={"hx-request": "1"}).text
            expected = resolve_config(preset).model_dump()
            form = values(page)
            for name, value in expected.items():
                if isinstance(value, bool):
                    assert (form.get(name) == "true") == value, (preset, name)
                else:
                    assert form[name] == show(value), (preset, name)


def test_the_command_shown_is_the_same_run(ws: Path) -> None:
    """The command line, parsed by the real `tunegate train`, gives the form's settings."""
    import typer.main

    from tunegate.cli import app, parse_settings

    with TestClient(create_app(ws)) as c:
        form = values(c.get("/tasks/tickets/train").text)
        form.update(rank="8", lr="0.001", layers="2", eval_every="4", preset="quick")
        page = c.post("/tasks/tickets/train/preview", data=form).text
    command = html.unescape(re.search(r'id="train-command">(.*?)</pre>', page, re.S).group(1))
    assert command.startswith("tunegate train tickets --preset quick")
    cmd = typer.main.get_command(app).commands["train"]
    ctx = cmd.make_context("train", shlex.split(command)[2:])
    p = ctx.params
    assert p["preset"] == "quick"
    settings = parse_settings(p["settings"])
    assert settings == {"rank": 8, "lr": 0.001, "layers": 2, "eval_every": 4}
    resolved = resolve_config("quick", None, settings)
    assert (resolved.rank, resolved.lr, str(resolved.layers), resolved.eval_every) == (
        8,
        0.001,
        "2",
        4,
    )


def test_an_out_of_range_value_is_shown_by_its_field_and_starts_nothing(ws: Path) -> None:
    with TestClient(create_app(ws)) as c:
        form = values(c.get("/tasks/tickets/train").text)
        form.update(rank="0", dropout="1.5", lr="fast")
        r = c.post("/tasks/tickets/train", data=form, follow_redirects=False)
    assert r.status_code == 200 and 'id="form-error"' in r.text
    errors = dict(re.findall(r'class="field-error" id="e-(\w+)" role="alert">([^<]*)', r.text))
    assert errors == {
        "rank": "rank: Input should be greater than 0",
        "dropout": "dropout: Input should be less than 1",
        "lr": "lr: expected a number",
    }
    assert 'id="f-rank" name="rank" value="0"' in r.text and 'aria-invalid="true"' in r.text
    with Store(ws / "tickets") as store:
        assert store.jobs() == [] and store.runs("train") == []
