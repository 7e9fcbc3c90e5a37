"""vw_envs.go.openings: the opening sampler shared by the ladder (scripted openings) and the recorder (OpeningPlayer).

The values are pinned from the code as it was before the two copies became one: the same seeds must give
the same openings, or recorded datasets and ladder runs would no longer reproduce.
"""

import gymnasium as gym
import numpy as np
import pytest

import vw_envs  # noqa: F401  (registers the ids)
from vw_envs.go.match import play_game
from vw_envs.go.openings import OpeningPlayer, opening_points, sample_opening
from vw_envs.players import BasePlayer

POINTS_9 = [10, 11, 12, 14, 15, 16, 19, 20, 21, 23, 24, 25, 28, 29, 30, 31, 32, 33, 34, 39, 40, 41, 46, 47, 48,
            49, 50, 51, 52, 55, 56, 57, 59, 60, 61, 64, 65, 66, 68, 69, 70]


def test_opening_points():
    assert opening_points(9) == POINTS_9
    assert len(opening_points(13)) == 45 and opening_points(13)[:6] == [28, 29, 30, 34, 35, 36]
    assert len(opening_points(19)) == 81 and opening_points(19)[-3:] == [318, 319, 320]


@pytest.mark.parametrize(("seed", "go9", "go19"), [
    (0, (50, 40, 24, 28), (204, 180, 84, 91, 46, 52)),
    (1, (40, 57, 69), (181, 281, 314, 42)),
    (7, (49, 52, 65, 41), (200, 269, 306, 192, 282, 294)),
    (12345, (23, 59, 29, 20), (78, 288, 92, 71, 289)),
])
def test_ladder_openings_are_pinned(seed, go9, go19):
    assert sample_opening(9, np.random.default_rng(seed), 2, 4) == go9
    assert sample_opening(19, np.random.default_rng(seed), 3, 6) == go19


class _Passer(BasePlayer):
    def genmove(self, state):
        return self.board_size ** 2


@pytest.mark.parametrize(("seed", "moves"), [
    (0, [61, 30, 47, 68, 32, 81, 81]),
    (1, [69, 55, 32, 65, 34, 81, 81]),
    (7, [69, 48, 31, 20, 65, 81, 81]),
    (12345, [14, 12, 21, 49, 48, 81, 81]),
])
def test_recorder_openings_are_pinned(seed, moves):
    """Each colour's OpeningPlayer draws its own moves from the game's seed; then the wrapped player plays."""
    env = gym.make("VideoGo-9x9-v0", opponent="none", frame_size=64).unwrapped
    rec = play_game(env, OpeningPlayer(_Passer(), 5), OpeningPlayer(_Passer(), 5), seed=seed, keep_frames=False)
    assert rec.moves == moves
    assert set(rec.moves[:5]) <= set(POINTS_9)
