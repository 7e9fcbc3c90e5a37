"""vw_envs.go.play: the games behind ``vw-agent play``, reachable without click."""

import pytest

import vw_envs  # noqa: F401  (registers the ids)
from vw_envs.errors import SGFError
from vw_envs.go.play import load_game, play_match


def test_play_match_reports_every_move_and_saves_the_game(tmp_path):
    seen = []
    record, names = play_match("VideoGo-9x9-v0", "random", "random", seed=3, frame_size=64,
                               sgf=str(tmp_path / "g.sgf"), on_move=seen.append)
    assert names == ("random", "random")
    assert len(seen) == len(record.moves) and all(isinstance(v, str) for v in seen)
    game = load_game(str(tmp_path / "g.sgf"), 9)
    assert game.move_number == len(record.moves)
    with pytest.raises(SGFError, match="VideoGo-9x9-v0"):
        load_game(str(tmp_path / "g.sgf"), 13)
