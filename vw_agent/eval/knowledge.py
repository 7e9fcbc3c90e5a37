"""Knowledge metrics of Video-GoBench (the paper's Table 1), for any player, on held-out positions.

For each position of held-out games (the test split of a dataset, or SGF files the players never saw):

- **Legal rate:** the share of first samples that are legal. A player that resamples illegal moves
  (the VideoWorld agent does, up to 10 times) reports it through an optional integer attribute
  ``first_sample_illegal``, a counter it increments whenever a first sample was illegal (and zeroes in
  ``reset``). Players without it (engines) are judged by the move they return.
- **Action-Value:** KataGo's raw-policy prior of the chosen move divided by the prior of KataGo's top
  move (1 for the top move, 0 for an illegal move or a resignation).
- **Best-Action accuracy:** the share of moves equal to KataGo's top raw-policy move.

The reference is KataGo's network with 1 visit (``katago:policy,cleanup=0`` plays exactly its top move).

Example:
    >>> rows = evaluate_players(["random"], load_positions(["tests/data/katago9-3games.sgfs"], 9))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.data.reader import DatasetReader
from vw_envs.errors import VWError
from vw_envs.fileio import write_text_atomic
from vw_envs.go.coords import RESIGN
from vw_envs.go.katago import shared_engine
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import COLOR_NAMES, GoGame
from vw_envs.go.sgf import iter_sgf_file, read_sgf
from vw_envs.players import GameState, make_player


@dataclass
class Position:
    """A position before move ``k`` of a held-out game; ``played`` is the move the game continued with."""

    game: int
    k: int
    board_size: int
    komi: float
    history: tuple[tuple[str, int], ...]
    setup: tuple[tuple[int, ...], tuple[int, ...]]
    to_play: str
    board: np.ndarray
    legal_mask: np.ndarray
    played: int


def _sgf_texts(source: str, split: str = "test") -> list[tuple[str, str]]:
    """(name, SGF text) of every game in a file, a folder of SGFs, or a dataset's ``split`` ("test", or "val" to
    choose settings on games the reported figures do not rest on)."""
    p = Path(source)
    if p.is_dir() and (p / "meta.json").exists():
        reader = DatasetReader(p)
        out = []
        for ep in reader.split_ids(split):
            sgf = reader.attrs(ep).get("sgf")
            if sgf:
                out.append((f"{p}#ep{ep}", sgf))
        reader.close()
        if not out:
            raise VWError(f"{p}: the dataset's {split} split holds no Go games with an SGF")
        return out
    if p.is_dir():
        files = sorted([*p.rglob("*.sgf"), *p.rglob("*.sgfs")])
        if not files:
            raise VWError(f"{p}: no .sgf or .sgfs files in this folder")
        return [t for f in files for t in iter_sgf_file(str(f))]
    if not p.exists():
        raise VWError(f"{p}: no such file or folder of held-out games")
    return list(iter_sgf_file(str(p)))


def load_positions(sources: list[str], board_size: int, *, max_positions: int | None = None,
                   seed: int = 0, skipped: list[str] | None = None, split: str = "test"
                   ) -> tuple[list[Position], int]:
    """Positions of held-out games of ``board_size`` (others are skipped), sampled down to ``max_positions``.
    A dataset folder gives the games of its ``split``.

    A game that cannot be read or set up is skipped, not fatal: its one-line reason is appended to ``skipped``.

    Returns:
        (positions sorted by game and move, number of games they come from).
    """
    positions: list[Position] = []
    n_games = 0
    for name, text in (t for s in sources for t in _sgf_texts(s, split)):
        try:
            g = read_sgf(text, name=name)
            if g.board_size != board_size or not g.moves:
                continue
            game = GoGame(g.board_size, g.komi)
            game.setup(g.setup_black, g.setup_white, to_play=g.first_to_play)
        except (VWError, ValueError) as e:  # one bad file must not end the evaluation of a folder
            if skipped is not None:
                skipped.append(str(e) if name in str(e) else f"{name}: {e}")
            continue
        setup = (tuple(g.setup_black), tuple(g.setup_white))
        hist: list[tuple[str, int]] = []
        for k, (c, m) in enumerate(g.moves):
            if COLOR_NAMES[game.to_play] != c:
                break  # a file with two moves of one colour in a row: keep the consistent prefix
            positions.append(Position(n_games, k, board_size, g.komi, tuple(hist), setup, c,
                                      game.board_array().reshape(board_size, board_size).copy(),
                                      game.legal_mask().copy(), m))
            try:
                game.play(m, c)
            except VWError:
                break
            hist.append((c, m))
        n_games += 1
    if max_positions is not None and len(positions) > max_positions:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(positions), size=max_positions, replace=False))
        positions = [positions[i] for i in keep]
    return positions, n_games


def reference_priors(positions: list[Position]) -> np.ndarray:
    """(P, N*N+1) KataGo raw policy per position, negatives (illegal) set to 0."""
    if not positions:
        return np.zeros((0, 0))
    eng = shared_engine(positions[0].board_size)
    out = []
    for pos in positions:
        first = pos.history[0][0] if pos.history else pos.to_play
        pol = eng.policy(list(pos.history), komi=pos.komi, setup=pos.setup, first_player=first)
        out.append(np.clip(pol, 0.0, None))
    return np.stack(out)


def _state(pos: Position, player: Any) -> Any:
    cfg = getattr(player, "render_config", None) or RenderConfig()
    last = pos.history[-1][1] if pos.history else None
    board = pos.board

    def render() -> np.ndarray:
        return BoardRenderer(pos.board_size, cfg).render(board.reshape(-1), last)

    return GameState(board_size=pos.board_size, komi=pos.komi, to_play=pos.to_play,
                     legal_mask=pos.legal_mask, history=pos.history, board=board, setup=pos.setup,
                     render_fn=render)


def evaluate_player(spec: str, positions: list[Position], priors: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Knowledge metrics of one player. Every position starts from a fresh ``reset`` plus the game's moves
    (``observe``), so engines that keep their own board see exactly the held-out game."""
    player = make_player(spec)
    legal, av, best = [], [], []
    n2 = positions[0].board_size ** 2 if positions else 0
    try:
        for i, pos in enumerate(positions):
            player.reset(pos.board_size, pos.komi, pos.to_play, seed=seed + i)
            if (pos.setup[0] or pos.setup[1]) and hasattr(player, "setup"):
                player.setup(list(pos.setup[0]), list(pos.setup[1]))
            for c, m in pos.history:
                player.observe(m, c)
            before = int(getattr(player, "first_sample_illegal", 0) or 0)
            move = int(player.genmove(_state(pos, player)))
            first_illegal = int(getattr(player, "first_sample_illegal", 0) or 0) > before
            # Resigning is a legal decision (GNU Go resigns lost positions): legal, but worth nothing.
            ok = 0 <= move <= n2 and bool(pos.legal_mask[move])
            legal.append((ok or move == RESIGN) and not first_illegal)
            pri = priors[i]
            top = int(np.argmax(pri))
            av.append(float(pri[move] / pri[top]) if ok and pri[top] > 0 else 0.0)
            best.append(ok and move == top)
    finally:
        player.close()
    n = len(positions)

    def ci(x: list[float]) -> float:
        return 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.nan

    return {"player": spec, "positions": n, "legal_rate": float(np.mean(legal)) if n else math.nan,
            "action_value": float(np.mean(av)) if n else math.nan, "action_value_ci": ci(av),
            "best_action_acc": float(np.mean(best)) if n else math.nan,
            "best_action_acc_ci": ci([float(b) for b in best])}


def evaluate_players(specs: list[str], positions: list[Position], *, seed: int = 0) -> list[dict[str, Any]]:
    """Knowledge metrics of several players on the same positions (one reference query per position)."""
    priors = reference_priors(positions)
    return [evaluate_player(s, positions, priors, seed=seed) for s in specs]


def run_knowledge(specs: list[str], sources: list[str], *, out: str | os.PathLike, board_size: int = 9,
                  max_positions: int | None = 200, seed: int = 0, split: str = "test") -> list[dict[str, Any]]:
    """Evaluate ``specs`` on held-out positions from ``sources`` (a dataset's ``split``); merge the rows into
    ``out/knowledge.json``.

    Raises:
        VWError: no positions of this board size in the sources.
    """
    positions, n_games = load_positions(sources, board_size, max_positions=max_positions, seed=seed, split=split)
    if not positions:
        raise VWError(f"no {board_size}x{board_size} positions in {', '.join(sources)}")
    rows = evaluate_players(specs, positions, seed=seed)
    path = Path(out) / "knowledge.json"
    meta = {"sources": [str(s) for s in sources], "split": split, "games": n_games, "positions": len(positions),
            "seed": seed}
    old_rows: list[dict[str, Any]] = []
    if path.exists():
        old = json.loads(path.read_text())
        if {k: old.get(k) for k in meta} == meta:  # same positions: keep other players' rows
            old_rows = [r for r in old.get("rows", []) if r["player"] not in specs]
    Path(out).mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({**meta, "rows": old_rows + rows}, indent=2) + "\n")
    return old_rows + rows
