"""``vw-agent imagine``: let a trained agent dream forward from a real frame, and say what it dreamt.

Go: each imagined frame is read back through the renderer's inverse; the command prints the move it shows and
whether that move is legal, and writes the frames (the real start first) as a GIF.

Tabletop: the agent imagines ``--steps`` frames of the task from the env's first frame and reads an action off
each; the real env is then stepped with those actions (open loop), and the command prints how far each
imagined frame is from the real one, beside the error of just repeating the start frame. The GIF shows the
imagined frames (left) beside the real ones (right).

The work is :func:`vw_agent.eval.imagination.imagine_go` and :func:`~vw_agent.eval.imagination.imagine_tabletop`.
"""

from __future__ import annotations

import click

from vw_cli.types import FiniteFloat


@click.command()
@click.option("--run", default=None, type=click.Path(file_okay=False),
              help="Run folder (vw-agent train) [default: the shipped 9x9 checkpoint].")
@click.option("--env", "env_id", default="VideoGo-9x9-v0", show_default=True,
              help="A Go env id (its board size) or a tabletop env id (a tabletop --run).")
@click.option("--task", default=None, help="Tabletop: the task [default: the env's; required for MultiTask].")
@click.option("--moves", default="", help="Moves played before imagining, as GTP vertices: 'E5 C3 pass'.")
@click.option("--sgf", "sgf_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Start from this SGF game instead (after --move-number moves).")
@click.option("--move-number", default=None, type=click.IntRange(min=0),
              help="With --sgf: moves to replay [default: all].")
@click.option("--steps", default=8, show_default=True, help="Moves to imagine.")
@click.option("--temperature", type=FiniteFloat(0.0), default=1.0, show_default=True,
              help="Sampling temperature (0: greedy).")
@click.option("--seed", default=0, show_default=True, help="Sampling seed.")
@click.option("--gif", "gif_path", default=None, type=click.Path(dir_okay=False), help="Write the frames as a GIF.")
@click.option("--scale", default=4, show_default=True, help="GIF pixel upscaling (nearest neighbour).")
def imagine(run, env_id, task, moves, sgf_path, move_number, steps, temperature, seed, gif_path, scale):
    """Imagine STEPS moves (Go) or steps (tabletop) ahead with the agent's world model.

    \\b
    vw-agent imagine --steps 8 --gif imagined.gif
    vw-agent imagine --run runs/go9 --env VideoGo-9x9-v0 --moves "E5 C3" --steps 8 --gif imagined.gif
    vw-agent imagine --env VideoTabletop-OpenDrawer-v0 --steps 8 --gif imagined.gif
    """
    # lazy: imports torch
    import vw_envs
    from vw_agent.eval import imagination

    if env_id not in vw_envs.ENV_IDS:
        raise click.BadParameter(f"unknown env {env_id!r}; use one of {', '.join(vw_envs.ENV_IDS)}")
    if steps < 1 or scale < 1:
        raise click.BadParameter("--steps and --scale must be >= 1")
    if env_id in vw_envs.TABLETOP_ENV_IDS:
        if moves or sgf_path or move_number is not None:
            raise click.BadParameter("--moves, --sgf and --move-number are for Go envs")
        if not run:  # the shipped tabletop checkpoint, as a bare videoworld policy
            from vw_agent.agent import SHIPPED_TABLETOP, shipped_run  # lazy: torch

            run = str(shipped_run(SHIPPED_TABLETOP))
        dream = imagination.imagine_tabletop(run, env_id, task=task, steps=steps, temperature=temperature, seed=seed)
        _show_tabletop(dream, run, steps, seed)
        if gif_path:
            imagination.write_upscaled_gif(gif_path, dream.gif_frames(), scale)
            click.echo(f"wrote {gif_path} (imagined left, real right)")
        return
    if task:
        raise click.BadParameter("--task is for tabletop envs")
    try:
        dream = imagination.imagine_go(run, env_id, moves=moves, sgf=sgf_path, move_number=move_number, steps=steps,
                                       temperature=temperature, seed=seed)
    except imagination.ImagineError as e:
        raise click.BadParameter(str(e)) from None
    click.echo(f"imagining {steps} moves after move {dream.move_number} ({dream.to_play} to play), run {dream.run}")
    for k, m in enumerate(dream.moves, 1):
        click.echo(f"  {k:3d}  {m.color:5s}  {m.shown:20s} {'legal' if m.legal else 'NOT a legal move'}")
    click.echo(f"{dream.legal}/{steps} imagined moves are legal Go moves")
    if gif_path:
        imagination.write_upscaled_gif(gif_path, dream.gif_frames(), scale)
        click.echo(f"wrote {gif_path}")


def _show_tabletop(dream, run: str, steps: int, seed: int) -> None:
    import numpy as np

    click.echo(f"imagining {steps} steps of {dream.task} from reset(seed={seed}), run {run}; then the env "
               "steps through the imagined actions (open loop)")
    click.echo("  step  action (7-D)                                    MSE imagined vs real   repeat start")
    for k, (action, err, copy) in enumerate(zip(dream.actions, dream.errors, dream.copies, strict=False), 1):
        click.echo(f"  {k:4d}  {np.array2string(action, precision=2, suppress_small=True):46s}  "
                   f"{err:18.5f}   {copy:12.5f}")
    if dream.ended_after is not None:
        click.echo(f"  the episode ended after step {dream.ended_after} (success: {dream.success})")
    click.echo(f"mean MSE over {len(dream.real)} steps: imagined {np.mean(dream.errors):.5f}, "
               f"repeating the start frame {np.mean(dream.copies):.5f}")
