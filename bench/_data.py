"""Where the benches find banking77: $TUNEGATE_DATASETS, else ../shared/datasets beside the
repository (or beside a worktree of it). The data is never copied into the repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def banking77_dir() -> Path:
    """The banking77 folder (train.csv, test.csv, categories.json); exits with a message if absent."""
    env = os.environ.get("TUNEGATE_DATASETS")
    roots = (
        [Path(env)]
        if env
        else [ROOT.parent / "shared" / "datasets", ROOT.parent.parent / "shared" / "datasets"]
    )
    for root in roots:
        if (root / "banking77" / "train.csv").exists():
            return root / "banking77"
    sys.exit(f"banking77 not found under {', '.join(map(str, roots))}; set TUNEGATE_DATASETS")
