"""Option types shared by the commands: bad values fail at the command line with one line, before any work."""

from __future__ import annotations

import math

import click


class FiniteFloat(click.ParamType):
    """A float that is finite (click's FLOAT takes 'nan' and 'inf', and nan passes every range check), within
    [lo, hi] when given; ``lo_open``: strictly above ``lo``."""

    name = "float"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def convert(self, value, param, ctx) -> float:
        x = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            self.fail(f"{x} must be {'>' if self.lo_open else '>='} {self.lo}", param, ctx)
        if self.hi is not None and x > self.hi:
            self.fail(f"{x} must be <= {self.hi}", param, ctx)
        return x


FRAME_SIZE = click.IntRange(16, 512)  # what the envs accept: smaller frames cannot show a board or a scene
KOMI = FiniteFloat()
SEED = click.IntRange(min=0)  # numpy seeds are non-negative


def env_id_option(value: str) -> str:
    """An env id that is registered (a one-line error listing them otherwise)."""
    # lazy: vw_cli.record and vw_cli.data import this module and only click
    import vw_envs

    if value not in vw_envs.ENV_IDS:
        raise click.BadParameter(f"unknown env {value!r}; use one of {', '.join(vw_envs.ENV_IDS)}")
    return value


def check_env_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: :func:`env_id_option` on the option's value (None passes)."""
    return None if value is None else env_id_option(value)


def check_task(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a tabletop task name (None passes), checked before any simulator starts."""
    # lazy: as above; the task table only, no simulator
    from vw_envs.tabletop.tasks import TASK_NAMES

    if value is not None and value not in TASK_NAMES:
        raise click.BadParameter(f"unknown task {value!r}; valid tasks: {', '.join(TASK_NAMES)}")
    return value
