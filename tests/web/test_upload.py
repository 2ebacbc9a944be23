"""An upload shows what was understood before the task is written: the detected shape, the labels
(editable), the first rows rendered as the model will see them; a file that is not data is
refused with the loader's one line and nothing is written."""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from tunegate.web.app import create_app

LABELS = ("card_arrival", "top_up_failed", "refund_not_showing")


def csv_bytes(rows: int = 40) -> bytes:
    lines = ["text,label"] + [
        f"question {i} about my {LABELS[i % 3]},{LABELS[i % 3]}" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_the_preview_shows_shape_labels_and_prompts_before_writing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with TestClient(create_app(ws)) as c:
        r = c.post("/tasks", files={"file": ("intents.csv", csv_bytes())}, data={"name": "intents"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/uploads/intents"
        assert not (ws / "intents").exists()  # not a task yet
        page = c.get("/uploads/intents").text
        assert '<strong id="detected-shape">columns</strong>' in page
        assert '<strong id="output-type">label</strong>' in page
        for lab in LABELS:
            assert f"<code>{lab}</code>" in page
        # the first row as the model sees it: the system prompt lists the labels, the user turn
        # is the row's text, then the expected answer
        first = page[page.index('class="answer example"') :]
        assert "Answer with exactly one of these labels" in first
        line = int(re.search(r'<p class="meta">data/intents.csv:(\d+)</p>', first).group(1))
        i = line - 2  # the header is line 1
        assert f"<pre>question {i} about my {LABELS[i % 3]}</pre>" in first
        assert f'<pre class="target">{LABELS[i % 3]}</pre>' in first
        output = html.unescape(
            re.search(r'name="output"[^>]*>(.*?)</textarea>', page, re.S).group(1)
        )
        assert sorted(yaml.safe_load(output)["labels"]) == sorted(LABELS)
        # an edit the task model refuses comes back inline; nothing is written
        bad = c.post("/uploads/intents", data={"output": "type: sentiment\nfield: label\n"})
        assert bad.status_code == 422 and 'id="confirm-error"' in bad.text
        assert "output.type" in html.unescape(bad.text) and not (ws / "intents").exists()
        # the edited labels are what the task gets
        edited = yaml.safe_load(output)
        edited["labels"] = [*LABELS, "other"]
        done = c.post(
            "/uploads/intents", data={"output": yaml.safe_dump(edited)}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == "/tasks/intents"
    spec = yaml.safe_load((ws / "intents" / "tunegate.yaml").read_text())
    assert spec["output"]["labels"] == [*LABELS, "other"]
    assert sorted(p.name for p in ws.iterdir()) == ["intents"]  # the staging folder is gone


def test_a_file_that_is_not_data_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with TestClient(create_app(ws)) as c:
        r = c.post("/tasks", files={"file": ("photo.jsonl", png)}, data={"name": "photo"})
    assert r.status_code == 400
    error = html.unescape(re.search(r'id="upload-error">(.*?)</p>', r.text, re.S).group(1))
    assert error.startswith("photo/data/photo.jsonl:") and "\n" not in error
    assert list(ws.iterdir()) == []


def test_cancel_discards_the_upload(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with TestClient(create_app(ws)) as c:
        c.post("/tasks", files={"file": ("intents.csv", csv_bytes())}, data={"name": "intents"})
        r = c.post("/uploads/intents", data={"cancel": "1", "output": ""}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert c.get("/uploads/intents").status_code == 400
    assert list(ws.iterdir()) == []
