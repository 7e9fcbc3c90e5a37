"""``vw-agent``: the command line. Each command parses options, builds a config and calls one function.

Errors of this project (:class:`vw_envs.errors.VWError`) end the command with exit code 2 and one line on
stderr; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import click

import vw_envs  # noqa: F401  (registers kinds that live in the env package)
import vw_envs.tabletop.policies  # noqa: F401  (registers the tabletop kinds)
from vw_cli.types import FRAME_SIZE, KOMI, SEED, check_env_id, check_task
from vw_envs.errors import VWError
from vw_envs.players import DOMAINS, KINDS, kind_status
from vw_envs.tabletop.registration import MULTITASK_ID
from vw_envs.tabletop.rollout import play_chain, play_episode


class _Group(click.Group):
    """Turns project errors into one line and exit code 2, unless --debug."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (VWError, FileNotFoundError) as e:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """VideoWorld Gym: pixel-only Go and tabletop environments, and agents that learn from video."""


@cli.command()
def players() -> None:
    """List every player (Go) and policy (tabletop) spec, what it needs installed, and whether it works here.

    A bare spec resolves in the domain of the env it acts in: `random` is a Go player on VideoGo-*, a policy on
    VideoTabletop-*.
    """
    rows = []
    for domain in DOMAINS:
        for kind in sorted(KINDS[domain].values(), key=lambda k: k.name):
            status = kind_status(kind)
            rows.append((domain, kind.example, "ok" if status is None else "missing", kind.help, kind.needs, status))
    width = max(len(r[1]) for r in rows)
    for domain, example, ok, help_, needs, status in rows:
        click.echo(f"{domain:<8}  {example:<{width}}  [{ok:>7}]  {help_}")
        click.echo(f"{'':<8}  {'':<{width}}             needs: {needs}")
        if status:
            click.echo(f"{'':<8}  {'':<{width}}             here: {status}")


@cli.command()
@click.option("--env", "env_id", default="VideoGo-9x9-v0", show_default=True, callback=check_env_id,
              help="Environment id.")
@click.option("--black", default="random", show_default=True, help="Go: player spec for Black.")
@click.option("--white", default="random", show_default=True, help="Go: player spec for White.")
@click.option("--policy", default="expert", show_default=True, help="Tabletop: policy spec.")
@click.option("--task", default=None, callback=check_task, help="Tabletop MultiTask: the task to do.")
@click.option("--chain", default=None,
              help="Tabletop MultiTask: a comma list of tasks done one after another in one scene (CALVIN's "
                   "chains); each next task starts when the one before succeeds.")
@click.option("--render", type=click.Choice(["none", "human"]), default="none", show_default=True,
              help="human: show the game in a window.")
@click.option("--sgf", "sgf_path", type=click.Path(dir_okay=False), help="Go: save the game as SGF.")
@click.option("--gif", "gif_path", type=click.Path(dir_okay=False), help="Save the frames as a GIF.")
@click.option("--load", "load_path", type=click.Path(dir_okay=False, exists=True),
              help="Go: continue the game in this SGF file (in the window: --render human).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the env and the players.")
@click.option("--komi", type=KOMI, default=7.5, show_default=True, help="Go: komi (the paper's 9x9 games used 5.5).")
@click.option("--frame-size", type=FRAME_SIZE, default=None,
              help="Frame width and height in pixels [default: a trained tabletop policy's own, else 128].")
@click.option("--last-move-marker/--no-last-move-marker", default=False, help="Go: mark the last stone.")
@click.option("--coordinates/--no-coordinates", default=False, help="Go: draw coordinates.")
def play(env_id, black, white, policy, task, chain, render, sgf_path, gif_path, load_path, seed, komi, frame_size,
         last_move_marker, coordinates) -> None:
    """Play one game (Go: --black/--white player specs) or one episode (tabletop: --policy).

    \b
    vw-agent play --black videoworld --white gnugo:level=1 --gif game.gif
    vw-agent play --env VideoTabletop-MultiTask-v0 --policy expert --task open_drawer --gif drawer.gif
    vw-agent play --env VideoTabletop-MultiTask-v0 --policy videoworld --render human
    vw-agent play --env VideoTabletop-MultiTask-v0 --policy videoworld --seed 10006 \\
        --chain open_drawer,turn_on_led,move_slider_left --gif chain.gif
    """
    tabletop = env_id.startswith("VideoTabletop")
    if frame_size is None and tabletop:  # a trained run sees one frame size: show it that one
        from vw_agent.agent_tabletop import policy_frame_size  # lazy: torch

        frame_size = policy_frame_size(policy)
    frame_size = frame_size or 128
    if chain is not None:
        if env_id != MULTITASK_ID or task is not None or render != "none":
            raise click.BadParameter(f"--chain needs --env {MULTITASK_ID}, and takes no --task or --render",
                                     param_hint="--chain")
        tasks = [t.strip() for t in chain.split(",") if t.strip()]
        for t in tasks:
            check_task(None, None, t)
        try:
            results = play_chain(tasks, policy, seed=seed, gif=gif_path, frame_size=frame_size)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        for r in results:
            click.echo(f"{r['task']}: {'success' if r['success'] else 'failure'} in {r['steps']} steps")
        click.echo(f"chain length {sum(r['success'] for r in results)}/{len(tasks)}"
                   + (f"; GIF: {gif_path}" if gif_path else ""))
        return
    if tabletop and render == "human" and env_id == MULTITASK_ID:  # a person picks the tasks
        from vw_envs.tabletop.window import TaskWindow  # lazy: pygame

        window = TaskWindow(policy, seed=seed, frame_size=frame_size, task=task)
        try:
            results = window.run()
        finally:
            window.close()
        click.echo(f"{sum(r['success'] for r in results)}/{len(results)} tasks done: "
                   + ", ".join(f"{r['task']} {'success' if r['success'] else 'failure'}" for r in results))
        return
    if tabletop:
        summary = play_episode(env_id, policy, seed=seed, render=None if render == "none" else render,
                               gif=gif_path, frame_size=frame_size, task=task)
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
        return
    # lazy: sgfmill and the Go window, ~15 ms that vw-agent --help need not pay
    from vw_cli.play import play_go

    play_go(env_id, black, white, render=render, sgf_path=sgf_path, gif_path=gif_path, seed=seed,
            komi=komi, frame_size=frame_size, last_move_marker=last_move_marker, coordinates=coordinates,
            load=load_path)


# Commands with their own module (each imports only click at module level, so `vw-agent --help` stays fast).
from vw_cli.baseline import baseline  # noqa: E402
from vw_cli.data import data  # noqa: E402
from vw_cli.eval import eval_group  # noqa: E402
from vw_cli.gtp import gtp  # noqa: E402
from vw_cli.imagine import imagine  # noqa: E402
from vw_cli.record import record  # noqa: E402
from vw_cli.train import train  # noqa: E402

for _command in (record, data, train, imagine, eval_group, baseline, gtp):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="vw-agent")


if __name__ == "__main__":
    main()
