"""Paths of the seed fixtures, for tests that load them explicitly."""

from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent.parent / "fixtures"
ALL = sorted(str(p) for p in SEED_DIR.glob("*.json"))


def seed(name: str) -> str:
    return str(SEED_DIR / name)
