import pytest

from tests.conftest import needs_gnugo
from vw_envs.go.coords import from_gtp, from_sgf_point, star_points, to_gtp, to_sgf_point
from vw_envs.players import make_player


@pytest.mark.parametrize("n", [9, 13, 19])
def test_round_trips(n):
    for a in range(n * n + 1):
        assert from_gtp(to_gtp(a, n), n) == a
        assert from_sgf_point(to_sgf_point(a, n), n) == a
    assert to_gtp(0, n) == f"A{n}"  # row 0 is the top of the picture
    assert to_gtp(n * n - 1, n) == f"{'ABCDEFGHJKLMNOPQRST'[n - 1]}1"
    assert to_gtp(n - 1, n)[0] == "ABCDEFGHJKLMNOPQRST"[n - 1]
    assert "I" not in "".join(to_gtp(a, n) for a in range(n * n))


def test_star_points():
    assert [to_gtp(p, 9) for p in star_points(9)] == ["C7", "G7", "E5", "C3", "G3"]
    assert len(star_points(19)) == 9 and to_gtp(star_points(19)[0], 19) == "D16"


@pytest.mark.parametrize("bad", ["I5", "Z1", "A0", "A10", "", "5A", "pas"])
def test_bad_vertices(bad):
    with pytest.raises(ValueError, match="not a vertex"):
        from_gtp(bad, 9)


@needs_gnugo
@pytest.mark.parametrize("n", [9, 19])
def test_convention_matches_gnugo_list_stones(n):
    """Play asymmetric moves through GTP and read GNU Go's own view of where the stones are."""
    p = make_player("gnugo:level=1")
    try:
        p.reset(n, 7.5, "white", seed=1)
        black = [0, 1, n, 2 * n + 3]  # top-left corner, its right and lower neighbours, one more
        white = [n * n - 1, n * n - 2, (n - 1) * n + 4]
        for b, w in zip(black, white + [n * n], strict=True):
            p.observe(b, "black")
            p.observe(w, "white")
        listed_b = sorted(from_gtp(v, n) for v in p.client.command("list_stones black").split())
        listed_w = sorted(from_gtp(v, n) for v in p.client.command("list_stones white").split())
        assert listed_b == sorted(black)
        assert listed_w == sorted(white)
        assert "A" + str(n) in p.client.command("list_stones black").split()
    finally:
        p.close()
