"""Reports: ``report.md`` tables and the Elo bar chart (PNG, drawn with Pillow; no matplotlib needed).

Every number in a report says how many games or positions it rests on.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.eval.elo import (
    DEFAULT_ANCHOR,
    DEFAULT_ANCHOR_RATING,
    EloFit,
    fit_games,
    game_outcome,
    nominal_ranks,
    rank_bots,
)
from vw_agent.eval.ladder import load_games, unique_games
from vw_envs.fileio import atomic_path, write_text_atomic

# ----------------------------------------------------------------------------- Go


def pair_records(games: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """{(a, b): [a's score per game]} over both colour assignments (void games dropped)."""
    out: dict[tuple[str, str], list[float]] = {}
    for g in games:
        s = game_outcome(g)
        if s is None:
            continue
        out.setdefault((g["black"], g["white"]), []).append(s)
        out.setdefault((g["white"], g["black"]), []).append(1 - s)
    return out


def elo_table(fit: EloFit, games: list[dict[str, Any]]) -> str:
    """Markdown: rating, ±CI, [lo, hi], games, nominal rank, and the score against each opponent."""
    pairs = pair_records(games)
    ranks = nominal_ranks(fit)
    bots = rank_bots(fit.names)
    forfeits: dict[str, int] = {}
    for g in games:
        if g.get("reason") == "forfeit":
            loser = g["black"] if g["forfeit"]["color"] == "black" else g["white"]
            forfeits[loser] = forfeits.get(loser, 0) + 1
    lines = ["| # | Player | Elo | ±95% | 95% interval | Games | Nominal rank [95%] | Score vs each opponent |",
             "|---|---|---|---|---|---|---|---|"]
    order = np.argsort(-fit.ratings)
    for k, i in enumerate(order, 1):
        name = fit.names[i]
        vs = []
        for opp in fit.names:
            rec = pairs.get((name, opp))
            if rec:
                w, d = sum(1 for s in rec if s == 1), sum(1 for s in rec if s == 0.5)
                vs.append(f"{opp}: {sum(rec):g}/{len(rec)} ({w}W {d}D {len(rec) - w - d}L)")
        if math.isnan(fit.lo[i]):
            pm, ci = "", ""
        elif fit.anchor == name:
            pm, ci = "anchor", "fixed"
        else:
            pm, ci = f"{fit.half_width()[i]:.0f}", f"[{fit.lo[i]:.0f}, {fit.hi[i]:.0f}]"
        rank = ranks[name].label() if name in ranks else ""
        if name in bots:
            rank = "(rank bot)"  # its own rating defines the scale there
        ff = f" ({forfeits[name]} forfeits)" if name in forfeits else ""
        lines.append(f"| {k} | `{name}` | {fit.ratings[i]:.0f} | {pm} | {ci} | {fit.games[i]}{ff} | {rank} | "
                     + "; ".join(vs) + " |")
    return "\n".join(lines)


def knowledge_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of knowledge metrics (see :mod:`vw_agent.eval.knowledge`)."""
    lines = ["| Player | Positions | Legal % (first sample) | Action-Value % | Best-Action Acc % |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['player']}` | {r['positions']} | {100 * r['legal_rate']:.1f} | "
                     f"{100 * r['action_value']:.1f} ± {100 * r['action_value_ci']:.1f} | "
                     f"{100 * r['best_action_acc']:.1f} ± {100 * r['best_action_acc_ci']:.1f} |")
    return "\n".join(lines)


CHART_TITLE = "Elo with 95% bootstrap intervals (orange: the anchor, fixed)"


def elo_chart(fit: EloFit, path: str | Path, title: str = CHART_TITLE) -> Path:
    """A horizontal bar chart of the ratings with error bars, as PNG (Pillow)."""
    from PIL import Image, ImageDraw, ImageFont

    order = list(np.argsort(fit.ratings))[::-1]
    row, top, left, right, bottom = 34, 48, 250, 40, 44
    width = 900
    height = top + row * len(order) + bottom
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        font = ImageFont.load_default()
    vals = np.concatenate([fit.ratings, fit.lo[~np.isnan(fit.lo)], fit.hi[~np.isnan(fit.hi)]])
    lo_v = min(0.0, math.floor(vals.min() / 250) * 250)
    hi_v = math.ceil(vals.max() / 250) * 250 + 1e-9
    span = hi_v - lo_v

    def x_of(v: float) -> float:
        return left + (width - left - right) * (v - lo_v) / span

    d.text((left, 14), title, fill="black", font=font)
    for tick in np.arange(lo_v, hi_v + 1, 250 if span <= 3000 else 500):
        x = x_of(float(tick))
        d.line([(x, top - 6), (x, height - bottom)], fill=(225, 225, 225))
        d.text((x - 14, height - bottom + 8), f"{tick:.0f}", fill="black", font=font)
    for k, i in enumerate(order):
        y0 = top + k * row + 6
        y1 = y0 + row - 12
        color = (70, 110, 180) if fit.names[i] != fit.anchor else (200, 120, 40)
        d.rectangle([x_of(lo_v), y0, x_of(float(fit.ratings[i])), y1], fill=color)
        if not math.isnan(fit.lo[i]) and fit.hi[i] > fit.lo[i]:
            ym = (y0 + y1) / 2
            xl, xh = x_of(float(fit.lo[i])), x_of(float(fit.hi[i]))
            d.line([(xl, ym), (xh, ym)], fill="black", width=2)
            d.line([(xl, y0 + 3), (xl, y1 - 3)], fill="black", width=2)
            d.line([(xh, y0 + 3), (xh, y1 - 3)], fill="black", width=2)
        label = f"{fit.names[i]}  {fit.ratings[i]:.0f}"
        tw = d.textlength(label, font=font)
        d.text((left - 8 - tw, y0 + 2), label, fill="black", font=font)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)


def write_go_report(run_dir: str | Path, *, anchor: str | None = DEFAULT_ANCHOR,
                    anchor_rating: float = DEFAULT_ANCHOR_RATING, n_boot: int = 1000) -> Path:
    """Fit Elo to ``run_dir``'s games and write ``report.md``, ``elo.png`` and ``elo.json`` there."""
    run = Path(run_dir)
    games = load_games(run)
    lines = [f"# Go ladder: {run.name}", ""]
    cfg_path = run / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    if cfg:
        lines += [f"Board {cfg.get('board_size')}x{cfg.get('board_size')}, komi {cfg.get('komi')}, area scoring, "
                  "positional superko; openings of 2-4 moves sampled near the centre and star points.", ""]
    if not games:
        lines.append("No games yet.")
        write_text_atomic(run / "report.md", "\n".join(lines) + "\n")
        return run / "report.md"
    fit = fit_games(games, anchor=anchor, anchor_rating=anchor_rating, n_boot=n_boot)
    anchor_note = (f"`{fit.anchor}` is held at {fit.anchor_rating:g}" if fit.anchor else
                   f"the anchor `{anchor}` did not play, so the mean rating is held at {anchor_rating:g}")
    walls = []
    if (run / "runs.jsonl").exists():
        walls = [json.loads(x) for x in (run / "runs.jsonl").read_text().splitlines() if x.strip()]
    forfeits = [g for g in games if g.get("reason") == "forfeit"]
    reasons: dict[str, int] = {}
    for g in games:
        reasons[g.get("reason") or "?"] = reasons.get(g.get("reason") or "?", 0) + 1
    played_seconds = sum(g.get("wall_seconds") or 0 for g in games)
    lines += [
        "## Elo",
        "",
        f"{len(games)} games ({unique_games(games)} unique move sequences); game ends: "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ". "
        f"Bradley-Terry fit with one virtual draw per pair that met; {anchor_note}; "
        f"95% intervals from {n_boot} bootstrap replicates over games (within each pair), relative to the "
        "anchor. Nominal ranks are interpolated in Elo between the KataGo rank bots' fitted ratings "
        "(the bots' labels are KaTrain's 2020 calibration, not measured ranks).",
        "",
        elo_table(fit, games),
        "",
        "![Elo](elo.png)",
        "",
        f"Game time (sum over games, per worker): {played_seconds / 60:.1f} min."
        + (f" Wall time of the runs: {', '.join(str(w['wall_seconds']) + ' s' for w in walls)}." if walls else ""),
    ]
    if forfeits:
        lines += ["", "### Forfeits", ""]
        for g in forfeits:
            color = g["forfeit"]["color"]
            lines.append(f"- {g['key']}: {color} ({g[color]}) - {g['forfeit']['reason']}")
    kpath = run / "knowledge.json"
    if kpath.exists():
        k = json.loads(kpath.read_text())
        lines += ["", "## Knowledge metrics", "",
                  f"{k['positions']} positions from {k['games']} held-out games ({', '.join(k['sources'])}); "
                  "reference: KataGo's raw policy (1 visit, `katago:policy,cleanup=0`). Legal % counts first "
                  "samples; Action-Value = prior(chosen) / prior(KataGo's top move); ± is a 95% normal interval.",
                  "", knowledge_table(k["rows"])]
    lines += ["", f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}._"]
    elo_chart(fit, run / "elo.png")
    write_text_atomic(run / "elo.json", json.dumps({
        "anchor": fit.anchor, "anchor_rating": fit.anchor_rating, "n_boot": n_boot,
        "players": [{"name": n, "elo": float(fit.ratings[i]), "lo": float(fit.lo[i]), "hi": float(fit.hi[i]),
                     "games": int(fit.games[i])} for i, n in enumerate(fit.names)]}, indent=2) + "\n")
    write_text_atomic(run / "report.md", "\n".join(lines) + "\n")
    return run / "report.md"


# ----------------------------------------------------------------------------- tabletop


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))
