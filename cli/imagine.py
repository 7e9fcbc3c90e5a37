"""``vw-agent imagine``: let a trained agent dream forward from a real frame, and say what it dreamt.

Go: each imagined frame is read back through the renderer's inverse; the command prints the move it shows and
whether that move is legal, and writes the frames (the real start first) as a GIF.

Tabletop: the agent imagines ``--steps`` frames of the task from the env's first frame and reads an action off
each; the real env is then stepped with those actions (open loop), and the command prints how far each
imagined frame is from the real one, beside the error of just repeating the start frame. The GIF shows the
imagined frames (left) beside the real ones (right).
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

    \b
    vw-agent imagine --steps 8 --gif imagined.gif
    vw-agent imagine --run runs/go9 --env VideoGo-9x9-v0 --moves "E5 C3" --steps 8 --gif imagined.gif
    vw-agent imagine --run runs/tabletop --env VideoTabletop-OpenDrawer-v0 --steps 8 --gif imagined.gif
    """
    import dataclasses

    import gymnasium as gym
    import numpy as np

    # lazy: imports torch
    import vw_envs  # noqa: F401  (registers the ids)
    from vw_agent.agent import AgentConfig, VideoWorldAgent, shipped_run
    from vw_agent.eval.imagination import legal_transition
    from vw_envs.go.coords import from_gtp, to_gtp
    from vw_envs.go.render import BoardRenderer, frame_to_board
    from vw_envs.go.rules import BLACK, GoGame
    from vw_envs.go.sgf import read_sgf, replay

    if env_id not in vw_envs.ENV_IDS:
        raise click.BadParameter(f"unknown env {env_id!r}; use one of {', '.join(vw_envs.ENV_IDS)}")
    if steps < 1 or scale < 1:
        raise click.BadParameter("--steps and --scale must be >= 1")
    if env_id in vw_envs.TABLETOP_ENV_IDS:
        if moves or sgf_path or move_number is not None:
            raise click.BadParameter("--moves, --sgf and --move-number are for Go envs")
        if not run:
            raise click.BadParameter("no tabletop checkpoint ships with the package; give a tabletop --run "
                                     "(vw-agent train ... --preset tabletop-cpu)")
        _imagine_tabletop(run, env_id, task, steps, temperature, seed, gif_path, scale)
        return
    if task:
        raise click.BadParameter("--task is for tabletop envs")
    n = gym.spec(env_id).kwargs["board_size"]
    agent = VideoWorldAgent.load(run or shipped_run(), AgentConfig(temperature=temperature, seed=seed))
    if not agent.info["env_id"].startswith("VideoGo-"):
        raise click.BadParameter(f"{run} learned {agent.info['env_id']}; imagine with --env {agent.info['env_id']}")
    if agent.board_size != n:
        raise click.BadParameter(f"the agent learned {agent.board_size}x{agent.board_size} Go; {env_id} is {n}x{n}")
    if sgf_path:
        with open(sgf_path, "rb") as f:
            game_record = read_sgf(f.read(), name=sgf_path)
        if game_record.board_size != n:
            raise click.BadParameter(f"{sgf_path} is a {game_record.board_size}x{game_record.board_size} game")
        if move_number is not None:
            game_record = dataclasses.replace(game_record, moves=game_record.moves[:move_number])
        game = replay(game_record, name=sgf_path)
    else:
        game = GoGame(n)
        for vertex in moves.split():
            try:
                move = from_gtp(vertex, n)
            except ValueError as e:
                raise click.BadParameter(f"--moves: {e}") from None
            game.play(move)  # IllegalMoveError: one line, via the CLI's error handler
    cfg = agent.render_config
    start = BoardRenderer(n, cfg).render(game.board_array())
    to_play = "black" if game.to_play == BLACK else "white"
    frames = agent.imagine(start, steps, to_play)
    click.echo(f"imagining {steps} moves after move {game.move_number} ({to_play} to play), run {agent.info['run']}")
    prev, color, legal = game.board_array(), game.to_play, 0
    for k, frame in enumerate(frames, 1):
        board = frame_to_board(frame, n, cfg)
        ok = legal_transition(prev, board, color)
        added = np.flatnonzero((prev.ravel() == 0) & (board.ravel() == color))
        shown = "pass" if np.array_equal(prev, board) else (
            to_gtp(int(added[0]), n) if len(added) == 1 else f"{int((prev != board).sum())} points changed")
        click.echo(f"  {k:3d}  {'black' if color == BLACK else 'white':5s}  {shown:20s} "
                   f"{'legal' if ok else 'NOT a legal move'}")
        legal += ok
        prev, color = board, 3 - color
    click.echo(f"{legal}/{steps} imagined moves are legal Go moves")
    if gif_path:
        _write_upscaled_gif(gif_path, [start, *frames], scale)
        click.echo(f"wrote {gif_path}")


def _imagine_tabletop(run: str, env_id: str, task: str | None, steps: int, temperature: float, seed: int,
                      gif_path: str | None, scale: int) -> None:
    import gymnasium as gym
    import numpy as np

    # lazy: imports torch
    from vw_agent.agent import AgentConfig
    from vw_agent.agent_tabletop import VideoWorldPolicy
    from vw_envs.tabletop.policies import static_frame

    policy = VideoWorldPolicy(run, AgentConfig(temperature=temperature, seed=seed))
    if task:
        policy.cond(task)  # a one-line error for an unknown task, before the simulator starts
    env = gym.make(env_id, frame_size=policy.agent.frame_size)
    try:
        obs, info = env.reset(seed=seed, options={"task": task} if task else None)
        start = np.asarray(static_frame(obs))
        frames, actions = policy.imagine(start, info["task"], steps)
        click.echo(f"imagining {steps} steps of {info['task']} from reset(seed={seed}), run {run}; then the env "
                   "steps through the imagined actions (open loop)")
        click.echo("  step  action (7-D)                                    MSE imagined vs real   repeat start")
        real, errors, copies = [], [], []
        for k, (frame, action) in enumerate(zip(frames, actions, strict=True), 1):
            obs, _r, terminated, truncated, info = env.step(action)
            now = np.asarray(static_frame(obs))
            real.append(now)
            err = float(np.mean((frame / 255.0 - now / 255.0) ** 2))
            copy = float(np.mean((start / 255.0 - now / 255.0) ** 2))
            errors.append(err)
            copies.append(copy)
            click.echo(f"  {k:4d}  {np.array2string(action, precision=2, suppress_small=True):46s}  "
                       f"{err:18.5f}   {copy:12.5f}")
            if terminated or truncated:
                click.echo(f"  the episode ended after step {k} (success: {bool(info.get('is_success'))})")
                break
        click.echo(f"mean MSE over {len(real)} steps: imagined {np.mean(errors):.5f}, "
                   f"repeating the start frame {np.mean(copies):.5f}")
    finally:
        env.close()
    if gif_path:
        # an episode that ended early has fewer real frames: the GIF stops there
        pairs = [np.concatenate([a, b], axis=1) for a, b in zip([start, *frames], [start, *real], strict=False)]
        _write_upscaled_gif(gif_path, pairs, scale)
        click.echo(f"wrote {gif_path} (imagined left, real right)")


def _write_upscaled_gif(path: str, frames: list, scale: int) -> None:
    """The frames ``scale`` times larger (nearest neighbour, so tokens and stones stay crisp), 2 frames a second."""
    import numpy as np

    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_envs.fileio import write_gif

    write_gif(path, [np.kron(f, np.ones((scale, scale, 1), dtype=np.uint8)) for f in frames], fps=2.0)
