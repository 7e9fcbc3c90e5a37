"""Elo ratings from game outcomes: a Bradley-Terry fit with a weak prior, bootstrap intervals, an anchor.

The model: P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)). Draws count as half a win for each side.

The prior: every pair of players that met gets ``prior_draws`` virtual drawn games (default 1, i.e.
half a win each way), as BayesElo does. It is translation-invariant, only touches pairs that actually
played, and keeps a perfect record finite: 10-0 fits as about 10.5 to 0.5, some 530 Elo. A further,
negligible Gaussian pull (sd 4000 Elo) keeps players of disconnected groups finite.

The anchor: ratings are shifted so that one player (default ``gnugo:level=10``) sits at 1500. If the
anchor is not among the players, the mean rating is 1500 instead. Intervals are relative to the anchor,
which therefore has none.

The fit is plain Newton's method on the concave log-posterior, with numpy only (a few players: a
dense solve per step), so it is transparent and needs no scipy.

Example:
    >>> fit = fit_games([{"black": "a", "white": "b", "winner": "black", "result": "B+3.5"}] * 3,
    ...                 anchor="b", n_boot=0)
    >>> round(float(fit.rating("a") - fit.rating("b")))
    244
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vw_envs.go.rank_bot import parse_rank, rank_label
from vw_envs.players import parse_spec

ELO_K = math.log(10) / 400  # logistic slope per Elo point
DEFAULT_ANCHOR = "gnugo:level=10"
DEFAULT_ANCHOR_RATING = 1500.0


@dataclass
class EloFit:
    """Fitted ratings.

    Attributes:
        names: players, in the order of the arrays.
        ratings: (P,) Elo.
        lo, hi: (P,) 95% bootstrap interval bounds (NaN without bootstrap).
        games: (P,) games per player.
        anchor: the anchored player (None: the mean is anchored).
        anchor_rating: its fixed rating.
        boot: (B, P) bootstrap ratings (empty without bootstrap).
    """

    names: list[str]
    ratings: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    games: np.ndarray
    anchor: str | None
    anchor_rating: float
    boot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def rating(self, name: str) -> float:
        return float(self.ratings[self.names.index(name)])

    def half_width(self) -> np.ndarray:
        """(hi - lo) / 2: the ± of the tables."""
        return (self.hi - self.lo) / 2


def fit_bt(n_players: int, wins: np.ndarray, counts: np.ndarray, *, anchor: int | None = None,
           anchor_rating: float = DEFAULT_ANCHOR_RATING, prior_draws: float = 1.0,
           prior_sd: float = 4000.0, iters: int = 100) -> np.ndarray:
    """Maximum a-posteriori Bradley-Terry ratings.

    Args:
        n_players: P.
        wins: (P, P) score of i against j (wins + draws/2).
        counts: (P, P) symmetric number of games between i and j.
        anchor: index held at ``anchor_rating``; None holds the mean there.
        prior_draws: virtual draws added to every pair that played.
        prior_sd: sd (Elo) of the Gaussian pull of every rating towards the anchor rating.

    Returns:
        (P,) ratings.
    """
    w = np.asarray(wins, dtype=np.float64).copy()
    c = np.asarray(counts, dtype=np.float64).copy()
    met = c > 0
    w[met] += prior_draws / 2
    c[met] += prior_draws
    p_n = n_players
    x = np.zeros(p_n)
    free = np.array([i for i in range(p_n) if i != anchor]) if anchor is not None else np.arange(p_n)
    inv_var = 1.0 / prior_sd**2

    def posterior(x: np.ndarray) -> float:
        d = ELO_K * (x[:, None] - x[None, :])
        return float(np.sum(w * -np.logaddexp(0.0, -d)) - 0.5 * inv_var * np.sum(x**2))

    f = posterior(x)
    for _ in range(iters):
        d = ELO_K * (x[:, None] - x[None, :])
        p = 1.0 / (1.0 + np.exp(-d))
        grad = ELO_K * np.sum(w - c * p, axis=1) - inv_var * x
        h = ELO_K**2 * c * p * (1 - p)
        hess = h - np.diag(h.sum(axis=1)) - inv_var * np.eye(p_n)  # negative definite
        step = np.zeros(p_n)
        step[free] = np.linalg.solve(-hess[np.ix_(free, free)], grad[free])
        t = 1.0
        while True:  # backtracking keeps Newton monotone far from the optimum
            f_new = posterior(x + t * step)
            if f_new >= f - 1e-12 or t < 1e-6:
                break
            t /= 2
        x, f = x + t * step, f_new
        if np.max(np.abs(t * step)) < 1e-7:
            break
    if anchor is not None:
        return x - x[anchor] + anchor_rating
    return x - x.mean() + anchor_rating


def _tables(names: list[str], games: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    p_n = len(names)
    w = np.zeros((p_n, p_n))
    c = np.zeros((p_n, p_n))
    for i, j, s in games:
        w[i, j] += s
        w[j, i] += 1 - s
        c[i, j] += 1
        c[j, i] += 1
    return w, c


def game_outcome(g: dict[str, Any]) -> float | None:
    """Black's score in a game record: 1 win, 0 loss, 0.5 draw; None for a void game."""
    if g.get("result") == "Void":
        return None
    if g.get("winner") == "black":
        return 1.0
    if g.get("winner") == "white":
        return 0.0
    return 0.5


def outcomes(records: list[dict[str, Any]]) -> tuple[list[str], list[tuple[int, int, float]]]:
    """(names, [(black index, white index, Black's score)]) from ``games.jsonl`` records (void games dropped)."""
    names: list[str] = []
    index: dict[str, int] = {}
    games = []
    for g in records:
        s = game_outcome(g)
        for p in (g["black"], g["white"]):
            if p not in index:
                index[p] = len(names)
                names.append(p)
        if s is not None:
            games.append((index[g["black"]], index[g["white"]], s))
    return names, games


def fit_games(records: list[dict[str, Any]], *, anchor: str | None = DEFAULT_ANCHOR,
              anchor_rating: float = DEFAULT_ANCHOR_RATING, n_boot: int = 1000, seed: int = 0,
              prior_draws: float = 1.0) -> EloFit:
    """Fit Elo to game records, with a 95% bootstrap interval over games.

    The bootstrap resamples games with replacement within each pair of players, so every pair keeps its
    number of games and the ladder stays connected in every replicate. Each pair's pool also holds one
    virtual draw (the prior's), so a perfect record does not resample to itself with zero spread; its
    interval is still optimistic, since n straight wins only bound the gap from below.

    Args:
        records: dicts with ``black``, ``white``, ``winner`` (``"black"``/``"white"``/None) and ``result``.
        anchor: the player held at ``anchor_rating``; if absent from the games, the mean is held there.
        n_boot: bootstrap replicates (0: no intervals).
    """
    names, games = outcomes(records)
    a = names.index(anchor) if anchor in names else None
    w, c = _tables(names, games)
    kw = dict(anchor=a, anchor_rating=anchor_rating, prior_draws=prior_draws)
    ratings = fit_bt(len(names), w, c, **kw)
    n_games = c.sum(axis=1).astype(int)
    lo = np.full(len(names), np.nan)
    hi = np.full(len(names), np.nan)
    boot = np.zeros((0, len(names)))
    if n_boot > 0 and games:
        rng = np.random.default_rng(seed)
        by_pair: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
        for i, j, s in games:
            by_pair.setdefault((min(i, j), max(i, j)), []).append((i, j, s))
        boot = np.empty((n_boot, len(names)))
        for b in range(n_boot):
            sample = []
            for (i, j), pair_games in by_pair.items():
                # The pool holds the prior's virtual draw too: otherwise a perfect record resamples to
                # itself and gets an interval of width zero.
                pool = [*pair_games, (i, j, 0.5)]
                idx = rng.integers(len(pool), size=len(pair_games))
                sample.extend(pool[k] for k in idx)
            wb, cb = _tables(names, sample)
            boot[b] = fit_bt(len(names), wb, cb, **kw)
        lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    return EloFit(names, ratings, lo, hi, n_games, anchor if a is not None else None, anchor_rating, boot)


# ----------------------------------------------------------------------------- nominal ranks


def rank_bots(names: list[str]) -> dict[str, float]:
    """{spec: kyu} for the KataGo rank bots among ``names`` (``katago:rank=5k`` -> 5.0)."""
    bots = {}
    for name in names:
        try:
            spec = parse_spec(name)
        except ValueError:
            continue
        if spec.kind == "katago" and "rank" in spec.params and set(spec.params) <= {"rank", "timeout"}:
            bots[name] = parse_rank(spec.params["rank"])
    return bots


def _interp_kyu(rating: float, bot_ratings: np.ndarray, bot_kyu: np.ndarray) -> float:
    # Ratings of the bots need not be monotone in their labels; interpolate over their sorted ratings.
    order = np.argsort(bot_ratings)
    xr, yk = bot_ratings[order], bot_kyu[order]
    if rating < xr[0]:
        return math.inf  # weaker than every bot
    if rating > xr[-1]:
        return -math.inf
    return float(np.interp(rating, xr, yk))


@dataclass
class NominalRank:
    """A player's rank on the KataGo rank bots' scale: kyu (negative: dan), and a 95% interval."""

    kyu: float
    lo: float
    hi: float
    outside: float  # share of bootstrap replicates that fell outside the bots' range

    def label(self) -> str:
        def one(k: float) -> str:
            if k == math.inf:
                return "weaker than all bots"
            if k == -math.inf:
                return "stronger than all bots"
            return rank_label(k)

        if math.isnan(self.lo) or one(self.lo) == one(self.hi) == one(self.kyu):
            return one(self.kyu)
        # lo/hi are kyu percentiles: a higher kyu is weaker, so print weak..strong.
        return f"{one(self.kyu)} [{one(self.hi)} .. {one(self.lo)}]"


def nominal_ranks(fit: EloFit) -> dict[str, NominalRank]:
    """Each player's rank, interpolated linearly in Elo between the fitted ratings of the rank bots.

    The interval comes from the bootstrap replicates: in each, the bots and the player are re-rated and
    the player is re-interpolated. Needs at least two rank bots; else returns {}.
    """
    bots = rank_bots(fit.names)
    if len(bots) < 2:
        return {}
    bi = [fit.names.index(b) for b in bots]
    kyu = np.array(list(bots.values()))
    out = {}
    for i, name in enumerate(fit.names):
        k = _interp_kyu(float(fit.ratings[i]), fit.ratings[bi], kyu)
        lo = hi = math.nan
        outside = 0.0
        if fit.boot.size:
            ks = np.array([_interp_kyu(float(r[i]), r[bi], kyu) for r in fit.boot])
            outside = float(np.mean(~np.isfinite(ks)))
            # Percentiles over +-inf work on the order alone; keep them as "outside" labels.
            lo, hi = (float(v) for v in np.percentile(np.clip(ks, -1e9, 1e9), [2.5, 97.5]))
            # Kyu values are within -2..18; anything huge stands for "outside the bots' range".
            lo, hi = (math.copysign(math.inf, v) if abs(v) >= 1e3 else v for v in (lo, hi))
        out[name] = NominalRank(k, lo, hi, outside)
    return out
