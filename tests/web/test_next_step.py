"""The overview's next step follows the evidence: train, diagnose the adapter, or serve."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from tunegate.web.overview import next_step


def evidence(*kinds: tuple[str, str]) -> NS:
    rungs = [NS(rung=name, kind=kind) for name, kind in kinds]
    return NS(
        evidence=NS(rungs=rungs, rung=lambda n: next((r for r in rungs if r.rung == n), None))
    )


PROMPTS = (("zero_shot", "prompt"), ("constrained", "prompt"))


@pytest.mark.parametrize(
    ("verdict", "chosen", "kinds", "trained", "label", "href"),
    [
        ("not ready", None, PROMPTS, False, "Fix the data", "/tasks/t/check"),
        ("prompting suffices", "constrained", PROMPTS, False, "Serve it", "/tasks/t/playground"),
        ("fine-tune", None, PROMPTS, False, "Train an adapter", "/tasks/t/train"),
        ("nothing meets", None, PROMPTS, True, "Diagnose the adapter", "/tasks/t/diagnose"),
        ("fine-tune", "finetuned", (*PROMPTS, ("finetuned", "finetuned")), True, "Serve it",
         "/tasks/t/playground"),
        ("nothing meets", None, (*PROMPTS, ("finetuned", "finetuned")), True, "Train an adapter",
         "/tasks/t/train"),
        ("remote only", "remote", (*PROMPTS, ("remote", "remote")), False, "Train an adapter",
         "/tasks/t/train"),
    ],
)  # fmt: skip
def test_next_step(
    verdict: str, chosen: str | None, kinds: tuple, trained: bool, label: str, href: str
) -> None:
    step = next_step("t", NS(verdict=verdict, chosen=chosen), evidence(*kinds), trained)
    assert (step.label, step.href) == (label, href)
    if label == "Diagnose the adapter":
        assert step.rungs == ("finetuned",) and "--rungs finetuned" in step.command
