"""``vw-agent eval``: the Go Elo ladder, knowledge metrics and tabletop success rates.

Only click is imported here; each command imports its machinery when it runs.
"""

from __future__ import annotations

import click

from vw_cli.types import KOMI

_PLAYERS_HELP = (
    "Player specs, weakest first. Separated by commas; a piece that is a bare key=value (like "
    "'timeout=5' in 'gnugo:level=1,timeout=5') continues the previous spec. If the list contains ';', "
    "only ';' separates. May be combined with --player.")


@click.group("eval")
def eval_group() -> None:
    """Evaluate players: Go Elo ladder and knowledge metrics, tabletop success rates."""


def _anchor(text: str) -> tuple[str, float]:
    spec, sep, rating = text.rpartition("=")
    try:
        return (spec, float(rating)) if sep and spec else (text, 1500.0)
    except ValueError:
        return text, 1500.0


@eval_group.command("go")
@click.option("--board", default=9, show_default=True, help="Board size.")
@click.option("--players", default="", help=_PLAYERS_HELP)
@click.option("--player", "player_list", multiple=True, help="One player spec (repeatable; no splitting).")
@click.option("--games-per-pair", default=10, show_default=True, help="Games per scheduled pair.")
@click.option("--schedule", default="neighbours", show_default=True,
              help="neighbours | round-robin | gauntlet:SPEC.")
@click.option("--workers", default=1, show_default=True, help="Parallel game processes.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the games run: local processes, or Ray actors (RAY_ADDRESS joins a cluster; "
                   "docs/cluster.md). The games are the same.")
@click.option("--komi", type=KOMI, default=7.5, show_default=True, help="Komi (the paper's 9x9 games used 5.5).")
@click.option("--seed", default=0, show_default=True, help="Base seed of openings and players.")
@click.option("--out", default="results/go9", show_default=True, type=click.Path(file_okay=False),
              help="Run folder; rerunning resumes it.")
@click.option("--anchor", default="gnugo:level=10=1500", show_default=True,
              help="SPEC=RATING held fixed (if SPEC did not play, the mean is held at RATING).")
@click.option("--bootstrap", default=1000, show_default=True, help="Bootstrap replicates for the intervals.")
@click.option("--knowledge", "knowledge_src", multiple=True, type=click.Path(exists=True),
              help="Held-out games (SGF file, .sgfs collection, folder of SGFs, or a dataset folder's "
                   "test split) for the knowledge metrics of every player.")
@click.option("--positions", default=200, show_default=True, help="Knowledge metrics: at most this many positions.")
def go(board, players, player_list, games_per_pair, schedule, workers, backend, komi, seed, out, anchor, bootstrap,
       knowledge_src, positions) -> None:
    """Play a ladder of Go games, fit Elo, and write OUT/report.md (resumes an interrupted run)."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.eval.ladder import LadderConfig, run_ladder, split_players
    from vw_agent.eval.report import write_go_report

    specs = (split_players(players) if players.strip() else []) + list(player_list)
    if not specs:
        raise click.UsageError("give --players or --player")
    cfg = LadderConfig(players=specs, board_size=board, games_per_pair=games_per_pair, schedule=schedule,
                       workers=workers, backend=backend, komi=komi, out=out, seed=seed)
    run_ladder(cfg)
    if knowledge_src:
        # lazy: command modules import only click, so vw-agent --help stays fast
        from vw_agent.eval.knowledge import run_knowledge

        run_knowledge(specs, list(knowledge_src), out=out, board_size=board, max_positions=positions)
    spec, rating = _anchor(anchor)
    path = write_go_report(out, anchor=spec, anchor_rating=rating, n_boot=bootstrap)
    click.echo(f"wrote {path}")


@eval_group.command("knowledge")
@click.option("--players", default="", help=_PLAYERS_HELP)
@click.option("--player", "player_list", multiple=True, help="One player spec (repeatable).")
@click.option("--games", "sources", multiple=True, required=True, type=click.Path(exists=True),
              help="Held-out games: SGF file, .sgfs collection, folder of SGFs, or a dataset folder.")
@click.option("--board", default=9, show_default=True, help="Board size of the positions to use.")
@click.option("--positions", default=200, show_default=True, help="At most this many positions.")
@click.option("--seed", default=0, show_default=True, help="Seed of the position sample and the players.")
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True,
              help="A dataset's split to take games from: choose settings on val, report on test.")
@click.option("--out", default="results/go9", show_default=True, type=click.Path(file_okay=False))
def knowledge(players, player_list, sources, board, positions, seed, split, out) -> None:
    """Legal rate, Action-Value and Best-Action accuracy of players on held-out positions."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.eval.knowledge import run_knowledge
    from vw_agent.eval.ladder import split_players
    from vw_agent.eval.report import knowledge_table

    specs = (split_players(players) if players.strip() else []) + list(player_list)
    if not specs:
        raise click.UsageError("give --players or --player")
    rows = run_knowledge(specs, list(sources), out=out, board_size=board, max_positions=positions, seed=seed,
                         split=split)
    click.echo(knowledge_table(rows))


@eval_group.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--anchor", default="gnugo:level=10=1500", show_default=True, help="SPEC=RATING held fixed.")
@click.option("--bootstrap", default=1000, show_default=True, help="Bootstrap replicates.")
def report(run_dir, anchor, bootstrap) -> None:
    """Rewrite RUN_DIR/report.md and the Elo chart from the games it holds."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.eval.report import write_go_report

    spec, rating = _anchor(anchor)
    click.echo(f"wrote {write_go_report(run_dir, anchor=spec, anchor_rating=rating, n_boot=bootstrap)}")


@eval_group.command("tabletop")
@click.option("--policy", default="expert", show_default=True, help="Policy spec (expert, random, videoworld:RUN).")
@click.option("--tasks", default="all", show_default=True, help="all, or a comma list of task names.")
@click.option("--episodes", default=None, type=int,
              help="Episodes per task (0: none). Default 100, or 0 when --chains is given.")
@click.option("--chains", default=0, show_default=True, help="CALVIN-style task chains (0: none).")
@click.option("--chain-length", default=5, show_default=True, help="Subtasks per chain.")
@click.option("--workers", default=1, show_default=True, help="Parallel processes.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the episodes run: local processes, or Ray actors (docs/cluster.md).")
@click.option("--frame-size", default=None, type=int,
              help="Frame side in pixels [default: a trained policy's own, else 128].")
@click.option("--seed", default=10_000, show_default=True,
              help="First seed; recordings stay below 10,000, so the default evaluates unseen scenes.")
@click.option("--out", default="results/tabletop", show_default=True, type=click.Path(file_okay=False),
              help="Result folder; rerunning resumes it.")
def tabletop(policy, tasks, episodes, chains, chain_length, workers, backend, frame_size, seed, out) -> None:
    """Per-task success rates (Wilson intervals, GIFs) and CALVIN-style chains; writes OUT/report.md."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.eval.tabletop import TabletopEvalConfig, run_tabletop_eval

    if episodes is None:
        episodes = 0 if chains else 100
    if frame_size is None:  # a trained run sees one frame size: show it that one
        from vw_agent.agent_tabletop import policy_frame_size  # lazy: torch

        frame_size = policy_frame_size(policy)
    cfg = TabletopEvalConfig(policy=policy, tasks=tasks, episodes=episodes, chains=chains,
                             chain_length=chain_length, workers=workers, backend=backend, frame_size=frame_size,
                             seed=seed, out=out)
    click.echo(f"wrote {run_tabletop_eval(cfg)}")
