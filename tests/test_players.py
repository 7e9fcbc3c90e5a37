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


def test_one_registry_of_kinds_with_a_domain_each():
    """Go players and tabletop policies are one registry; the shared names resolve by the env's domain."""
    import subprocess
    import sys

    from vw_envs.players import DOMAINS, KINDS
    from vw_envs.tabletop.policies import POLICY_KINDS, RandomPolicy, make_policy

    assert DOMAINS == ("go", "tabletop") and POLICY_KINDS is KINDS["tabletop"] and PLAYER_KINDS is KINDS["go"]
    both = set(KINDS["go"]) & set(KINDS["tabletop"])
    assert {"random", "videoworld", "sb3", "bc"} <= both
    for name in both:
        assert KINDS["go"][name].entry_point != KINDS["tabletop"][name].entry_point
        assert (KINDS["go"][name].domain, KINDS["tabletop"][name].domain) == ("go", "tabletop")
    assert isinstance(make_player("random"), RandomPlayer)
    assert isinstance(make_policy("random"), RandomPolicy)
    out = subprocess.run([sys.executable, "-m", "vw_cli.main", "players"], capture_output=True, text=True,
                         check=True).stdout
    listed = {(line.split()[0], line.split()[1].split(":")[0]) for line in out.splitlines() if line[:1].strip()}
    assert listed == {(d, name) for d in DOMAINS for name in KINDS[d]}
