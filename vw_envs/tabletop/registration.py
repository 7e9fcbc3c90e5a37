"""Tabletop ids (filled in by the tabletop issue). Must not import pybullet."""

TABLETOP_ENV_IDS: tuple[str, ...] = ()


def register_tabletop_envs() -> None:
    """Register every tabletop id with a string entry point."""
