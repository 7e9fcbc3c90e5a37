"""``vw-agent eval tabletop`` smoke tests with tiny budgets (real PyBullet, real experts)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vw_agent.eval.tabletop import chain_stats, resolve_tasks
from vw_cli.main import cli


def test_eval_tabletop_episodes_and_chains(tmp_path):
    out = tmp_path / "tt"
    args = ["eval", "tabletop", "--policy", "expert", "--tasks", "open_drawer,turn_on_led", "--episodes", "2",
            "--chains", "1", "--chain-length", "2", "--out", str(out)]
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    eps = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(eps) == 4 and all(e["success"] for e in eps)  # the experts solve these
    assert (out / "gifs" / "open_drawer.gif").read_bytes()[:3] == b"GIF"
    report = (out / "report.md").read_text()
    assert "Wilson" in report and "`open_drawer` | 100.0% (2/2)" in report and "in a row" in report
    # Resume: nothing left to do, nothing replayed.
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0 and len((out / "episodes.jsonl").read_text().splitlines()) == 4


def test_noop_policy_never_succeeds(tmp_path):
    r = CliRunner().invoke(cli, ["eval", "tabletop", "--policy", "noop", "--tasks", "open_drawer", "--episodes",
                                 "1", "--out", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 0
    assert "0.0% (0/1)" in (tmp_path / "report.md").read_text()


def test_tasks_and_chain_stats():
    assert len(resolve_tasks("all")) == 20
    r = CliRunner().invoke(cli, ["eval", "tabletop", "--tasks", "fly_away", "--out", "/tmp/unused-vw"])
    assert r.exit_code == 2 and "fly_away" in r.output
    rates, avg = chain_stats([{"completed": 0}, {"completed": 2}, {"completed": 5}], 5)
    assert rates == [2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3] and avg == 7 / 3
