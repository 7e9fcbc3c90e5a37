import pytest

from vw_envs.errors import SpecError
from vw_envs.players import PLAYER_KINDS, Player, PlayerSpec, RandomPlayer, make_player, parse_spec


@pytest.mark.parametrize("text,expected", [
    ("random", PlayerSpec("random", None, {})),
    ("gnugo:level=5", PlayerSpec("gnugo", None, {"level": "5"})),
    ("katago:rank=5k,temperature=0.5", PlayerSpec("katago", None, {"rank": "5k", "temperature": "0.5"})),
    ("videoworld:runs/go9", PlayerSpec("videoworld", "runs/go9", {})),
    ("gtp:gnugo --mode gtp --komi=7.5", PlayerSpec("gtp", "gnugo --mode gtp --komi=7.5", {})),
])
def test_parse(text, expected):
    got = parse_spec(text)
    assert (got.kind, got.arg, got.params) == (expected.kind, expected.arg, expected.params)


@pytest.mark.parametrize("text,match", [
    ("", "empty player spec"),
    ("alphago", "unknown player kind 'alphago'; valid kinds: .*gnugo.*random"),
    ("random:", "nothing after ':'"),
    ("gnugo:level=", "is not key=value"),
    ("gnugo:level=1,level=2", "level given twice"),
    ("random:pass=2", "pass must be in 0.0..1.0"),
    ("random:fast", "random takes pass=..."),
    ("human:x=1", "valid keys: none"),
])
def test_bad_specs_one_line(text, match):
    with pytest.raises(SpecError, match=match) as e:
        make_player(text)
    assert "\n" not in str(e.value)


def test_registry_and_protocol():
    assert {"random", "human", "gnugo", "gtp"} <= set(PLAYER_KINDS)
    p = make_player("random")
    assert isinstance(p, Player) and make_player(p) is p


def test_random_player_is_seeded_and_legal():
    from vw_envs.go.rules import GoGame
    from vw_envs.players import GameState

    g = GoGame(9)
    g.play(40)
    state = GameState(9, 7.5, "white", g.legal_mask(), (("black", 40),), g.board_array())
    a, b = RandomPlayer(), RandomPlayer()
    a.reset(9, 7.5, "white", seed=3)
    b.reset(9, 7.5, "white", seed=3)
    moves = [a.genmove(state) for _ in range(5)]
    assert moves == [b.genmove(state) for _ in range(5)]
    assert all(state.legal_mask[m] and m != 40 for m in moves)


def test_human_player_refuses_illegal_then_accepts(tmp_path):
    import io

    from vw_envs.go.rules import GoGame
    from vw_envs.players import GameState, HumanPlayer

    g = GoGame(9)
    g.play(40)
    state = GameState(9, 7.5, "white", g.legal_mask(), (("black", 40),), g.board_array())
    out = io.StringIO()
    h = HumanPlayer(io.StringIO("Z9\nE5\nD4\n"), out)
    assert h.genmove(state) == 48  # D4
    text = out.getvalue()
    assert "not a vertex" in text and "illegal: occupied" in text
