"""The web app through FastAPI's TestClient: uploads (limits, malformed data, path tricks), the
editor's inline validation, the token off loopback, and the rows behind a check item."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tunegate.errors import TunegateError
from tunegate.init import init_task
from tunegate.web.app import create_app
from tunegate.web.server import ui_token
from tunegate.web.workspace import edit_values, safe_file_name


def client(ws: Path, **kw: object) -> TestClient:
    return TestClient(create_app(ws, **kw))  # type: ignore[arg-type]


def upload(c: TestClient, name: str, data: bytes, task: str = "") -> Any:
    """Upload, then confirm the preview as it was inferred (the task is written then)."""
    r = c.post("/tasks", files={"file": (name, data)}, data={"name": task},
               follow_redirects=False)  # fmt: skip
    if r.status_code != 303:
        return r
    preview = c.get(r.headers["location"])
    output = re.search(
        r'<textarea id="f-output" name="output"[^>]*>(.*?)</textarea>', preview.text, re.S
    )
    return c.post(r.headers["location"], data={"output": html.unescape(output.group(1))},
                  follow_redirects=False)  # fmt: skip


def test_upload_creates_task_inferred_from_data(tmp_path: Path, slice_file: Path) -> None:
    ws = tmp_path / "ws"
    with client(ws) as c:
        r = upload(c, "tickets.jsonl", slice_file.read_bytes(), "Support Tickets")
        assert r.status_code == 303 and r.headers["location"] == "/tasks/support-tickets"
        page = c.get("/tasks/support-tickets")
        assert page.status_code == 200 and "No diagnose yet" in page.text
        listing = c.get("/").text
        assert 'href="/tasks/support-tickets"' in listing
    text = (ws / "support-tickets" / "tunegate.yaml").read_text()
    assert 'train: "data/tickets.jsonl"' in text and "type: json" in text


def test_upload_over_the_limit_is_413(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with client(ws, max_upload=1000) as c:
        # over the limit but within the multipart slack: refused while reading the file
        r = upload(c, "big.jsonl", b'{"input": "x", "output": "y"}\n' * 100)
        assert r.status_code == 413 and "upload too large: at most 1,000 bytes" in r.text
        # far over: refused by its Content-Length before the body is read
        r = upload(c, "big.jsonl", b"x" * 200_000)
        assert r.status_code == 413
    assert list(ws.iterdir()) == []


def test_malformed_upload_shows_the_one_line_error(tmp_path: Path) -> None:
    bad = b'{"input": "a", "output": "b"}\n{"input": "c", oops}\n'
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bad.jsonl").write_bytes(bad)
    with pytest.raises(TunegateError) as cli_error:  # what `tunegate init --from` says
        init_task(tmp_path / "t", from_data=tmp_path / "data" / "bad.jsonl")
    ws = tmp_path / "ws"
    with client(ws) as c:
        r = upload(c, "bad.jsonl", bad, "bad")
    assert r.status_code == 400
    assert f"bad/data/bad.jsonl:2: {cli_error.value.message}" in r.text.replace("&#39;", "'")
    assert 'id="upload-error"' in r.text
    assert not (ws / "bad").exists()  # nothing left behind


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        ("../../escape.jsonl", "escape.jsonl"),
        ("..\\..\\escape.jsonl", "escape.jsonl"),
        ("/etc/cron.d/x.jsonl", "x.jsonl"),
        ("...hidden.jsonl", "hidden.jsonl"),
        ("a b;rm -rf.csv", "a_b_rm_-rf.csv"),
    ],
)
def test_path_tricks_in_file_names_are_harmless(
    tmp_path: Path, slice_file: Path, name: str, saved: str
) -> None:
    assert safe_file_name(name) == saved
    ws = tmp_path / "ws"
    data = slice_file.read_bytes()
    if saved.endswith(".csv"):
        data = b"message,label\n" + b"".join(f"hello {i},l{i % 3}\n".encode() for i in range(30))
    with client(ws) as c:
        r = upload(c, name, data, "../../../t")
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/tasks/t"
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted([Path("tickets.jsonl"), Path("ws/t/tunegate.yaml"),
                            Path("ws/t/data") / saved])  # fmt: skip


def test_task_names_outside_the_workspace_are_refused(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (tmp_path / "tunegate.yaml").write_text("name: zzoutside\ndata: {train: x.jsonl}\n")
    with client(ws) as c:
        assert "zzoutside" not in c.get("/tasks/..").text  # the client normalizes it to /
        for url in ("/tasks/%2e%2e/edit", "/tasks/..%2F..%2Fetc/check", "/tasks/x", "/tasks/.%2e"):
            r = c.get(url)
            assert r.status_code in (400, 404), url
            assert "zzoutside" not in r.text


def test_wrong_suffix_is_refused(tmp_path: Path) -> None:
    with client(tmp_path / "ws") as c:
        r = upload(c, "notes.txt", b"hello")
    assert r.status_code == 400 and "expected a .jsonl, .json, .csv file" in r.text


def test_editor_validates_with_the_task_model_inline(tmp_path: Path, slice_file: Path) -> None:
    ws = tmp_path / "ws"
    with client(ws) as c:
        upload(c, "tickets.jsonl", slice_file.read_bytes(), "t")
        before = (ws / "t" / "tunegate.yaml").read_text()
        form = c.get("/tasks/t/edit")
        assert form.status_code == 200 and 'name="targets"' in form.text
        values = {
            **edit_values(ws / "t"),  # what the form shows
            "description": "triage",
            "targets": "min_accuracy: 2\n",
            "traffic": "requests_per_day: 10\n",
            "prices": "",
        }
        r = c.post("/tasks/t/edit", data=values, headers={"HX-Request": "true"})
        assert r.status_code == 422
        assert "targets.min_accuracy: Input should be less than or equal to 1" in r.text
        assert r.text.lstrip().startswith('<form id="edit"')  # the fragment htmx swaps in
        assert (ws / "t" / "tunegate.yaml").read_text() == before
        r = c.post("/tasks/t/edit", data={**values, "user": "{nope}", "targets": ""})
        assert r.status_code == 422 and "{nope}" in r.text and "not in inputs" in r.text
        r = c.post("/tasks/t/edit", data={**values, "targets": "min_accuracy: 0.9\n"})
        assert r.status_code == 200 and 'id="edit-saved"' in r.text
    after = (ws / "t" / "tunegate.yaml").read_text()
    assert "min_accuracy: 0.9" in after and "requests_per_day: 10" in after
    assert "prices" not in after


def test_check_links_each_problem_to_its_rows(tmp_path: Path, slice_file: Path) -> None:
    ws = tmp_path / "ws"
    with client(ws) as c:
        upload(c, "tickets.jsonl", slice_file.read_bytes(), "t")
        r = c.post("/tasks/t/check", follow_redirects=True)
        assert r.status_code == 200 and 'id="readiness"' in r.text
        assert 'href="/tasks/t/check/rows.empty_inputs"' in r.text
        rows = c.get("/tasks/t/check/rows.empty_inputs")
        assert rows.status_code == 200
        assert "data/tickets.jsonl:3" in rows.text and "&#34;message&#34;: &#34;&#34;" in rows.text
        assert c.get("/tasks/t/check/no.such").status_code == 400


def test_token_required_when_given_and_off_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUNEGATE_UI_TOKEN", raising=False)
    with pytest.raises(TunegateError, match="pass --token or set TUNEGATE_UI_TOKEN"):
        ui_token("0.0.0.0", None)
    assert ui_token("127.0.0.1", None) is None and ui_token("::1", None) is None
    assert ui_token("0.0.0.0", "s3cret") == "s3cret"
    monkeypatch.setenv("TUNEGATE_UI_TOKEN", "from-env")
    assert ui_token("192.168.1.5", None) == "from-env"
    with client(tmp_path / "ws", token="s3cret") as c:
        assert c.get("/").status_code == 401
        assert c.get("/static/htmx.min.js").status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        r = c.get("/?token=s3cret")
        assert r.status_code == 200 and "tunegate_token" in r.headers["set-cookie"]
        assert c.get("/").status_code == 200  # the cookie now carries it


def test_cli_refuses_to_bind_off_loopback_without_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tunegate.cli import app

    monkeypatch.delenv("TUNEGATE_UI_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["ui", "--workspace", str(tmp_path), "--host", "0.0.0.0"])
    assert isinstance(result.exception, TunegateError)
    assert "--host: binding to 0.0.0.0 exposes the UI" in str(result.exception)


def test_htmx_is_vendored(tmp_path: Path) -> None:
    with client(tmp_path / "ws") as c:
        r = c.get("/static/htmx.min.js")
        assert r.status_code == 200 and "htmx" in r.text and len(r.content) > 40_000
        assert '<script src="/static/htmx.min.js">' in c.get("/").text


def test_job_events_stream_the_fragment_then_done(tmp_path: Path, slice_file: Path) -> None:
    from tunegate.store import Store

    ws = tmp_path / "ws"
    with client(ws) as c:
        upload(c, "tickets.jsonl", slice_file.read_bytes(), "t")
        store = Store(ws / "t")
        job = store.add_job("diagnose", {}, pid=1)
        rungs = {"zero_shot": {"done": 3, "total": 8, "tok_s": 41.0, "note": ""}}
        store.update_job(job, status="done", progress={"rungs": rungs}, run_id="diagnose-x")
        with c.stream("GET", f"/tasks/t/jobs/{job}/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            text = "".join(r.iter_text())
        assert text.startswith('event: update\ndata: <div class="job"')
        assert '<tr data-rung="zero_shot"><td>zero_shot</td><td class="num">3/8</td>' in text
        assert text.endswith(f'event: done\ndata: {{"job": "{job}"}}\n\n')
        assert c.get("/tasks/t/jobs/nope/events").status_code == 400
