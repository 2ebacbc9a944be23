"""Instruction rewrites by the remote model: asked once (cached), used as search candidates."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import BagOfWords, ScriptedGenerator, context, make_label_task, optimize_answer
from tunegate.ladder import Generators, optimize
from tunegate.ladder.rewrite import remote_rewrites
from tunegate.models.base import GenRequest

REMOTE = {"base_url": "http://127.0.0.1:9/v1", "model": "big", "api_key_env": None}


def rewrite(req: GenRequest) -> str:
    how = req.messages[-1]["content"]
    return "Route the message to its team." if "shorter" in how else "Read, then route it."


def test_remote_rewrites_are_cached_and_become_candidates(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path, remote=REMOTE)
    remote = ScriptedGenerator(rewrite)
    gens = Generators(local=lambda: ScriptedGenerator(optimize_answer), remote=lambda: remote)
    ctx = context(folder, BagOfWords())
    assert remote_rewrites(ctx, gens) == {
        "remote-clear": "Read, then route it.",
        "remote-short": "Route the message to its team.",
    }
    assert "Triage the support message." in remote.generated[0].messages[-1]["content"]
    res = optimize.search(ctx, gens)
    assert len(remote.generated) == 2  # the search reused the cached rewrites
    assert res.instructions["remote-short"] == "Route the message to its team."
    assert any(c["id"].startswith("remote-") for c in res.candidates)


def test_no_rewrites_without_a_remote(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path), BagOfWords())
    assert remote_rewrites(ctx, Generators()) == {}
