"""The GTP engine: every command, GTP-style errors, a seeded fuzz, and real games against GNU Go."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sgfmill import sgf

from tests.conftest import needs_gnugo
from vw_cli.main import cli
from vw_envs.go.coords import from_gtp
from vw_envs.go.gtp_engine import GTPEngine, serve
from vw_envs.players import BasePlayer, GameState, RandomPlayer, make_player

REQUIRED = ("protocol_version name version known_command list_commands quit boardsize clear_board komi play "
            "genmove undo final_score final_status_list showboard fixed_handicap place_free_handicap "
            "set_free_handicap time_settings time_left").split()
VW_AGENT = str(Path(sys.executable).parent / "vw-agent")


def engine(size: int = 9, player=None, **kw) -> GTPEngine:
    return GTPEngine(player or make_player("random"), board_size=size, log=io.StringIO(), **kw)


def ok(e: GTPEngine, line: str) -> str:
    reply = e.handle(line)
    assert reply is not None and reply.startswith("=") and reply.endswith("\n\n"), (line, reply)
    return reply[1:].strip()


def err(e: GTPEngine, line: str) -> str:
    reply = e.handle(line)
    assert reply is not None and reply.startswith("?") and reply.endswith("\n\n"), (line, reply)
    return reply[1:].strip()


def test_administrative_commands_and_ids():
    e = engine()
    assert e.handle("protocol_version") == "= 2\n\n"
    assert e.handle("12 name") == "=12 vw-agent\n\n"
    assert ok(e, "version")
    assert set(ok(e, "list_commands").split()) >= set(REQUIRED)
    for c in REQUIRED:
        assert ok(e, f"known_command {c}") == "true"
    assert ok(e, "known_command kgs-genmove_cleanup") == "false"
    assert e.handle("7 frobnicate") == "?7 unknown command\n\n"
    assert e.handle("") is None and e.handle("   # just a comment") is None
    assert e.handle("3 name # trailing comment\r\n") == "=3 vw-agent\n\n"
    assert e.handle("\tname\x01") == "= vw-agent\n\n"  # HT is a space, other control characters vanish
    assert e.handle("quit") == "= \n\n" and e.quit


def test_play_genmove_undo_and_illegal_moves():
    e = engine()
    assert ok(e, "play b E5") == "" and ok(e, "play W d4") == ""
    assert err(e, "play b E5") == "illegal move"  # occupied
    assert err(e, "play b Z9").startswith("syntax error")
    assert err(e, "play b J10").startswith("syntax error")  # off a 9x9 board
    assert err(e, "play purple E4").startswith("syntax error")
    assert err(e, "play b") == "syntax error"
    move = ok(e, "genmove b")
    p = from_gtp(move, 9)
    assert 0 <= p < 81 and e.game.board[p] == 1 and e.game.move_number == 3
    assert ok(e, "undo") == "" and e.game.move_number == 2
    assert ok(e, "undo") == "" and ok(e, "undo") == ""
    assert err(e, "undo") == "cannot undo"
    assert ok(e, "play b pass") == "" and e.game.consecutive_passes == 1


def test_ko_and_suicide_are_illegal_moves():
    e = engine()
    # Black F5 captures the white stone on E5; White may not retake at once.
    for line in ("play b D5", "play b E4", "play b E6", "play w F4", "play w F6", "play w G5", "play w E5",
                 "play b F5"):
        assert ok(e, line) == "", line
    assert e.game.board[from_gtp("E5", 9)] == 0  # captured
    assert err(e, "play w E5") == "illegal move"  # ko
    assert err(e, "play w F5") == "illegal move"  # occupied
    assert "ko" in e.log.getvalue() and "occupied" in e.log.getvalue()
    e2 = engine()
    for line in ("play b A2", "play b B1"):
        ok(e2, line)
    assert err(e2, "play w A1") == "illegal move"  # suicide
    assert "suicide" in e2.log.getvalue()


def test_boardsize_clear_board_komi_and_scoring():
    e = engine()
    assert err(e, "boardsize 25") == "unacceptable size" and err(e, "boardsize x").startswith("syntax error")
    assert ok(e, "boardsize 5") == "" and e.game.n == 5
    assert ok(e, "komi 0.5") == "" and e.game.komi == 0.5
    assert err(e, "komi nan").startswith("syntax error")
    ok(e, "play b C3")
    assert ok(e, "final_score") == "B+24.5"  # one black stone owns the whole 5x5 board
    assert ok(e, "final_status_list alive") == "C3"
    assert ok(e, "final_status_list dead") == ""
    assert err(e, "final_status_list zombie") == "syntax error"
    board = e.handle("showboard")
    assert board.startswith("= \n") and board.endswith("\n\n") and " 3 . . X . .  3" in board
    assert ok(e, "clear_board") == "" and e.game.move_number == 0 and e.game.komi == 0.5
    ok(e, "komi 24")
    ok(e, "play b C3")
    assert ok(e, "final_score") == "B+1"
    ok(e, "komi 25")
    assert ok(e, "final_score") == "0"


def test_handicap_commands():
    e = engine(19)
    assert ok(e, "fixed_handicap 9") == "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10"
    assert e.game.to_play == 2 and e.game.stone_count[1] == 9
    assert err(e, "fixed_handicap 2") == "board not empty"
    assert ok(e, "genmove w")
    e = engine(9)
    assert ok(e, "fixed_handicap 2") == "C3 G7"
    ok(e, "clear_board")
    assert err(e, "fixed_handicap 10") == "invalid number of stones"
    assert err(e, "fixed_handicap 1") == "invalid number of stones"
    stones = ok(e, "place_free_handicap 12").split()
    assert len(stones) == 12 and len(set(stones)) == 12 and stones[:2] == ["C3", "G7"]
    ok(e, "clear_board")
    assert ok(e, "set_free_handicap A1 B2 C3") == "" and e.game.stone_count[1] == 3
    ok(e, "clear_board")
    assert err(e, "set_free_handicap A1 A1") == "bad vertex list"
    assert err(e, "set_free_handicap A1") == "bad vertex list"
    assert err(e, "set_free_handicap A1 pass") == "bad vertex list"
    assert e.game.stone_count[1] == 0
    assert ok(e, "set_free_handicap A1 B2") == "" and e.game.to_play == 2
    assert err(e, "undo") == "cannot undo"  # handicap stones are setup, not moves


class BudgetPlayer(RandomPlayer):
    """A random player that records the time budget the engine hands it (players with a budget read it)."""

    time_per_move: float | None = None

    def genmove(self, state: GameState) -> int:
        self.seen = self.time_per_move
        return super().genmove(state)


def test_time_commands_feed_the_players_budget():
    p = BudgetPlayer()
    e = engine(9, p, time_per_move=5.0)
    assert err(e, "time_settings 300 x 5").startswith("syntax error")
    assert ok(e, "time_settings 300 30 5") == ""
    ok(e, "genmove b")
    assert p.seen == 5.0
    assert ok(e, "time_left b 10 5") == ""
    ok(e, "genmove b")
    assert p.seen == 2.0  # 10 s for 5 stones of byo-yomi
    assert err(e, "time_left b -1 0").startswith("syntax error")


class BrokenPlayer(BasePlayer):
    """Fails every other genmove, like an engine that crashed and was restarted."""

    name = "broken"
    calls = 0

    def genmove(self, state: GameState) -> int:
        self.calls += 1
        if self.calls % 2:
            raise RuntimeError("the model fell over")
        return 80 if state.legal_mask[80] else state.board_size ** 2


def test_player_failures_answer_gtp_errors():
    e = engine(9, BrokenPlayer())
    assert e.handle("5 genmove b") == "?5 player failed: RuntimeError\n\n"
    assert "the model fell over" in e.log.getvalue()
    assert ok(e, "genmove b") == "J1"
    assert err(e, "genmove w") == "player failed: RuntimeError"  # every other call fails
    assert ok(e, "genmove w") == "pass" and ok(e, "protocol_version") == "2"


def fuzz_lines(rng: random.Random, n: int) -> list[str]:
    words = REQUIRED + ["b", "w", "black", "white", "B", "pass", "resign", "A1", "J9", "T19", "Z0", "E5", "-3",
                        "0", "1", "2", "9", "19", "25", "1e9", "nan", "inf", "7.5", "alive", "dead", "seki", "#",
                        "\t", "\x00", "\x1b[2J", "é", "☃", "99999999999999999999", ""]
    lines = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.6:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(0, 5)))
            if rng.random() < 0.3:
                line = f"{rng.randint(0, 10**6)} {line}"
        elif kind < 0.9:
            line = "".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 40)))
        else:
            line = rng.choice(REQUIRED) + " " + "".join(rng.choice("ABCDEFGHJKLMNOPQRST0123456789 -.")
                                                      for _ in range(rng.randint(0, 12)))
        lines.append(line.replace("\n", " ").replace("quit", "qu1t"))
    return lines


def test_fuzz_never_crashes_and_still_answers():
    rng = random.Random(1234)
    e = engine(9)
    answered = 0
    for line in fuzz_lines(rng, 5000):
        reply = e.handle(line)
        if reply is not None:
            assert reply[0] in "=?" and reply.endswith("\n\n") and "\n\n" not in reply[:-2], (line, reply)
            answered += 1
    assert answered > 4000
    assert "internal error" not in e.log.getvalue()
    assert e.handle("1 boardsize 9") == "=1 \n\n"
    assert e.handle("2 clear_board") == "=2 \n\n"
    assert e.handle("3 play b E5") == "=3 \n\n"
    assert e.handle("4 play w E5") == "?4 illegal move\n\n"
    vertex = ok(e, "genmove w")
    assert e.game.board[from_gtp(vertex, 9)] == 2, vertex
    assert ok(e, "protocol_version") == "2"


def test_fuzz_over_a_pipe_with_bytes_that_are_not_utf8():
    rng = random.Random(99)
    data = b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in fuzz_lines(rng, 1500))
    data += bytes(rng.randrange(256) for _ in range(3000)).replace(b"\n", b" ") + b"\n"
    data += b"boardsize 9\nplay b C3\n42 genmove w\n77 protocol_version\nquit\nname\n"
    out = io.StringIO()
    serve(engine(9), io.BytesIO(data), out)
    text = out.getvalue()
    assert text.endswith("=77 2\n\n= \n\n")  # answered to the end; nothing after quit
    assert "=42 " in text


def test_engine_subprocess_speaks_gtp_on_stdio():
    script = b"protocol_version\n\xff\xfe garbage\nboardsize 9\nplay b E5\n3 genmove w\nquit\n"
    out = subprocess.run([VW_AGENT, "gtp", "--player", "random", "--size", "9"], input=script,
                         capture_output=True, timeout=60, check=True)
    replies = out.stdout.decode().split("\n\n")
    assert replies[0] == "= 2" and replies[1] == "? unknown command" and replies[4].startswith("=3 ")
    assert replies[5] == "= "


def test_gtp_bad_player_spec_is_one_line_exit_2():
    res = CliRunner().invoke(cli, ["gtp", "--player", "alphago"])
    assert res.exit_code == 2 and "unknown player kind 'alphago'" in res.output and res.output.count("\n") == 1


@needs_gnugo
def test_real_game_vw_agent_gtp_vs_gnugo_refereed_by_play(tmp_path, monkeypatch):
    # The spec names the engine by its command, as a user types it; the venv's bin holds vw-agent.
    monkeypatch.setenv("PATH", f"{Path(VW_AGENT).parent}{os.pathsep}{os.environ['PATH']}")
    sgf_path = tmp_path / "game.sgf"
    res = CliRunner().invoke(cli, ["play", "--env", "VideoGo-9x9-v0", "--black", "gtp:vw-agent gtp --player random",
                                   "--white", "gnugo:level=1", "--sgf", str(sgf_path), "--seed", "3"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "gtp:vw-agent gtp --player random (B) vs gnugo:level=1 (W): W+" in res.output
    game = sgf.Sgf_game.from_bytes(sgf_path.read_bytes())
    moves = [n.get_move() for n in game.get_main_sequence()[1:]]
    assert len(moves) > 20 and {c for c, _ in moves} == {"b", "w"}
    assert game.get_root().get("RE").startswith("W+")


@needs_gnugo
def test_gnugo_behind_our_engine_keeps_coordinates():
    # A GTP engine wrapping GNU Go: our board and GNU Go's agree stone by stone after real moves.
    e = GTPEngine(make_player("gnugo:level=1"), board_size=9, log=io.StringIO())
    try:
        for line in ("play b C7", "genmove w", "genmove b", "genmove w", "genmove b"):
            ok(e, line)
        theirs = e.player.client.command("list_stones black").split()
        ours = [v for v in ok(e, "final_status_list alive").replace("\n", " ").split()
                if e.game.board[from_gtp(v, 9)] == 1]
        assert sorted(theirs) == sorted(ours) and "C7" in ours
    finally:
        e.player.close()


@pytest.mark.parametrize("size", [7, 8, 13])
def test_fixed_handicap_limits(size):
    e = engine(size)
    top = 4 if size in (7, 8) else 9
    assert len(ok(e, f"fixed_handicap {top}").split()) == top
    ok(e, "clear_board")
    assert err(e, f"fixed_handicap {top + 1}") == "invalid number of stones"
