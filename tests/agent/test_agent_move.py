"""The latent-move path (presets tiny-move / go9-move): H=1, the GPT samples the code, the LDM's decoder renders
the imagined frame, a code-blind IDM reads the move off it, and a vote among several imaginations."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.agent.conftest import train_tiny_run
from vw_agent.agent import AgentConfig, VideoWorldAgent, vote
from vw_agent.idm import IDMConfig, InverseDynamics
from vw_agent.ldm import LatentDynamicsModel, LDMConfig
from vw_agent.presets import get_preset
from vw_agent.transformer import GPT, GPTConfig
from vw_envs.errors import SpecError
from vw_envs.go.env import VideoGoEnv
from vw_envs.go.match import play_game
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import GoGame
from vw_envs.players import make_player


@pytest.fixture(scope="module")
def move_run(go_dataset, tmp_path_factory):
    return train_tiny_run(go_dataset, tmp_path_factory.mktemp("tiny-move-run"), "tiny-move", eval_windows=16)


def _frame(size: int) -> np.ndarray:
    game = GoGame(9)
    game.play(40)  # E5
    return BoardRenderer(9, RenderConfig(size)).render(game.board_array())


def test_stage_metrics_say_whether_the_code_is_the_move(move_run):
    ldm = json.loads((move_run / "ldm-metrics.json").read_text())
    assert ldm["changed_points"] > 0  # held-out windows whose boards change (moves), read through the renderer
    for k in ("changed_points_right", "shuffled_codes_changed_points_right", "boards_exact"):
        assert 0 <= ldm[k] <= 1
    idm = json.loads((move_run / "idm-metrics.json").read_text())
    assert 0 <= idm["shuffled_next_action_accuracy"] <= 1 and idm["windows"] == 16


def test_imagined_frame_is_the_ldm_decoding_of_the_sampled_code(move_run):
    agent = VideoWorldAgent.load(move_run, AgentConfig(seed=5))
    assert agent.ldm is not None and agent.gpt.config.next_frame == "ldm"
    frame = _frame(agent.frame_size)
    codes, imagined, out = agent.draw(frame, 1, 4)
    ids = agent.tokenizer.encode(torch.from_numpy(frame)[None]).flatten(1)
    g = agent.tokenizer.config.grid
    again = agent.tokenizer.decode(agent.ldm.decode(ids.expand(4, -1), codes)[:, 0].reshape(4, g, g))
    assert torch.equal(imagined, again)  # the frame follows from the code alone: no frame tokens are sampled
    reread, _ = agent.idm(torch.from_numpy(frame)[None].expand(4, -1, -1, -1), torch.zeros_like(codes), imagined)
    assert torch.allclose(out, reread)  # this IDM ignores the codes: the move comes from the imagined frame


def test_vote_plays_the_most_common_legal_reading(move_run):
    frame = _frame(64)
    mask = GoGame(9).legal_mask()
    mask[40] = False  # E5 is taken
    for seed in range(4):
        agent = VideoWorldAgent.load(move_run, AgentConfig(seed=seed, vote=9))
        reads = agent.draw(frame, 1, 9)[2].argmax(-1).tolist()
        agent.reseed(seed)
        move = agent.act(frame, "white", mask)
        legal = [r for r in reads if mask[r]]
        if reads.count(81) <= 0.5 * len(reads) and any(r != 81 for r in legal):  # pass_share 0.5: no pass
            legal = [r for r in legal if r != 81]
        if legal:
            best = max(legal.count(r) for r in legal)
            assert move == next(r for r in legal if legal.count(r) == best)  # the earliest of the most common
        assert agent.first_sample_illegal == int(not mask[reads[0]])  # judged on the first draw alone


def test_vote_counts_legal_readings_and_passes_need_pass_share():
    mask = torch.ones(82, dtype=torch.bool)
    mask[[3, 4]] = False  # two occupied points
    assert vote(torch.tensor([3, 7, 9, 9, 7, 4]), mask, 0.5) == 1  # 7 and 9 tie at 2: the earliest, draw 1
    assert vote(torch.tensor([9, 81, 81, 81, 5, 5]), mask, 0.5) == 4  # 3 of 6 passes: not more than half
    assert vote(torch.tensor([9, 81, 81, 81, 81, 5]), mask, 0.5) == 1  # 4 of 6: the pass wins
    assert vote(torch.tensor([9, 81, 81, 81, 81, 5]), mask, 0.99) == 0  # unanimity needed: 9 and 5 tie, 9 first
    assert vote(torch.tensor([3, 81, 81, 4]), mask, 0.99) == 1  # no other legal reading: the pass
    assert vote(torch.tensor([81]), mask, 0.99) == 0  # one draw that passes


def test_plays_a_game(move_run):
    player = make_player(f"videoworld:run={move_run},vote=4,seed=2")
    env = VideoGoEnv(board_size=9, opponent="none", max_moves=30, frame_size=64)
    try:
        record = play_game(env, player, make_player("random"), seed=1, keep_frames=False)
    finally:
        env.close()
    assert record.reason != "illegal" and len(record.moves) > 1
    assert 0 <= player.first_sample_illegal <= player.agent.moves


def test_pair_input_and_code_blind_idm_are_options():
    base = LDMConfig(space="tokens", token_vocab=50, token_grid=3, dim=32, horizon=1)
    assert not hasattr(LatentDynamicsModel(base), "prev_emb")  # earlier checkpoints have no such weights
    paired = LatentDynamicsModel(replace(base, pair_input=True))
    ids = torch.randint(0, 50, (4, 2, 9))
    same_new = ids.clone()
    same_new[:, 0] = (ids[:, 0] + 1) % 50  # other frame-t ids, same frame t+1
    ctx, ctx2 = paired._token_context(ids), paired._token_context(same_new)
    assert not torch.allclose(ctx[:, 1], ctx2[:, 1])  # frame t+1's tokens carry frame t's ids at their place
    idm = InverseDynamics(IDMConfig(frame_size=32, channels=(8, 8), use_codes=False))
    assert not hasattr(idm, "code_emb")
    x = torch.randint(0, 255, (2, 32, 32, 3), dtype=torch.uint8)
    a, _ = idm(x, torch.tensor([[1], [2]]), x)
    b, _ = idm(x, torch.tensor([[3], [4]]), x)
    assert torch.equal(a, b)


def test_copy_logit_starts_the_decoder_by_copying_frame_t():
    cfg = LDMConfig(space="tokens", token_vocab=50, token_grid=3, dim=32, horizon=1, copy_logit=5.0)
    ldm = LatentDynamicsModel(cfg)
    ids = torch.randint(0, 50, (6, 2, 9))
    assert torch.equal(ldm.decode(ids[:, 0], ldm.encode(ids))[:, 0], ids[:, 0])  # untrained: a copy
    assert not hasattr(LatentDynamicsModel(replace(cfg, copy_logit=0.0)), "copy_logit")


def _loss_weight_case(changes: dict, **base):
    """A small GPT of config ``base`` and a copy of it (same weights) with ``changes``, a batch of 3 windows (frames of
    4 tokens, one code), and the first GPT's loss and per-target cross-entropy (b, n) on that batch."""
    cfg = GPTConfig(frame_vocab=20, code_vocab=7, frame_tokens=4, codes_per_step=1, n_layer=1, n_head=2, n_embd=16,
                    **base)
    first, changed = GPT(cfg), GPT(replace(cfg, **changes))
    changed.load_state_dict(first.state_dict())
    batch = (torch.randint(0, 20, (3, 2, 4)), torch.randint(0, 7, (3, 1, 1)), torch.tensor([0, 1, 0]))
    idx = first.build_sequence(*batch)
    logits, loss = first(idx[:, :-1], idx[:, 1:])
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), idx[:, 1:], reduction="none")  # (b, n)
    return first, changed, batch, loss, ce


def test_code_loss_weight():
    plain, weighted, batch, loss, ce = _loss_weight_case(dict(code_loss_weight=5.0))
    assert torch.allclose(loss, ce.mean())  # weight 1: the plain mean
    code_pos = plain.kinds[1:] == 2  # positions whose target is a code
    w = torch.where(code_pos, 5.0, 1.0)
    assert torch.allclose(weighted.loss_on(*batch), (ce * w).sum() / (w.sum() * 3))


def test_first_frame_loss_weight_zero_ignores_the_unconditional_frame():
    plain, masked, batch, _, ce = _loss_weight_case(dict(first_frame_loss_weight=0.0, code_loss_weight=3.0))
    w = torch.where(plain.kinds[1:] == 2, 3.0, 1.0)
    w[:4] = 0.0  # targets 1..4: frame 0, predicted from the cond alone
    assert torch.allclose(masked.loss_on(*batch), (ce * w).sum() / (w.sum() * 3))


def test_go9_move_preset_links():
    p = get_preset("go9-move")
    assert p.ldm.horizon == 1 and p.gpt.codes_per_step == 1 and p.gpt.next_frame == "ldm"
    assert p.ldm.vocab_size >= 2 * 81 + 1  # a code for each point and colour, and for no change
    assert not p.idm.use_codes


def test_imagine_option_switches_who_renders_the_frame(move_run, tmp_path):
    frame = _frame(64)
    by_gpt = VideoWorldAgent.load(move_run, AgentConfig(seed=1, imagine="gpt", frame_temperature=0.0))
    assert not by_gpt.by_ldm
    codes, imagined, _ = by_gpt.draw(frame, 0, 3)
    assert imagined.shape == (3, 64, 64, 3)
    greedy = VideoWorldAgent.load(move_run, AgentConfig(seed=2, imagine="gpt", temperature=0.0))
    assert torch.equal(greedy.draw(frame, 0, 2)[1][0], greedy.draw(frame, 0, 2)[1][1])
    with pytest.raises(SpecError, match="imagine must be"):
        make_player(f"videoworld:run={move_run},imagine=pixels")


def test_decoder_only_fine_tune_keeps_every_code(move_run, go_dataset, tmp_path):
    import shutil

    from tests.agent.conftest import windows
    from vw_agent.checkpoint import load_frozen
    from vw_agent.data.tokens import cache_frame_tokens
    from vw_agent.train import TrainConfig, train_stage

    run = tmp_path / "run"
    shutil.copytree(move_run, run)
    before = load_frozen(run, "ldm")
    train_stage(TrainConfig(stage="ldm", data=str(go_dataset), out=str(run), preset="tiny-move", steps=5,
                            decoder_only=True, eval_windows=8), progress=False)
    after = load_frozen(run, "ldm")
    ids = windows(go_dataset, 2, tokens=cache_frame_tokens(load_frozen(run, "tokenizer"), go_dataset))["tokens"]
    assert torch.equal(before.encode(ids.long()), after.encode(ids.long()))  # the codes, and the GPT's data, stay
    changed = {k for k, v in after.state_dict().items() if not torch.equal(v, before.state_dict()[k])}
    assert changed and all(k.split(".")[0] in LatentDynamicsModel.DECODER for k in changed), changed
    # a second fine-tune (no --resume) starts from the fine-tuned weights, not from a fresh model
    train_stage(TrainConfig(stage="ldm", data=str(go_dataset), out=str(run), preset="tiny-move", steps=3,
                            decoder_only=True, eval_windows=8), progress=False)
    assert torch.equal(before.encode(ids.long()), load_frozen(run, "ldm").encode(ids.long()))
    with pytest.raises(ValueError, match="decoder_only applies to the ldm stage"):
        TrainConfig(stage="transformer", decoder_only=True)


def test_next_frame_loss_weight_zero_trains_the_code_alone():
    """With weight 0 the sequence is cut after the code, and the loss is the code's, as the full sequence's with
    frame t+1 weighted 0 (causal after the prefix: frame t+1 changes no earlier output)."""
    full, cut, batch, _, ce = _loss_weight_case(dict(next_frame_loss_weight=0.0), next_frame="ldm",
                                                code_loss_weight=3.0)
    w = torch.where(full.kinds[1:] == 2, 3.0, 1.0)  # targets: frame t (1..4), the code (5), frame t+1 (6..9)
    w[5:] = 0.0
    expected = (ce * w).sum() / (w.sum() * 3)
    assert torch.allclose(cut.loss_on(*batch), expected)
    assert not torch.allclose(full.loss_on(*batch), expected)
    with pytest.raises(ValueError, match="needs next_frame 'ldm'"):
        GPTConfig(next_frame="gpt", next_frame_loss_weight=0.0)


def test_code_only_gpt_run_acts_and_keeps_snapshots(move_run, go_dataset, tmp_path):
    """A GPT trained on the codes alone (tiny-code, as go9-code) on move_run's tokenizer and LDM: its metrics say
    how often it names the code, --keep-every leaves snapshots without optimiser state, the agent plays with the
    LDM rendering frame t+1, and refuses to let that GPT render it."""
    import shutil

    from vw_agent.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
    from vw_agent.metrics import code_metrics
    from vw_agent.train import TrainConfig, train_stage

    run = tmp_path / "run"
    run.mkdir()
    for stage in ("tokenizer", "ldm"):
        shutil.copy(checkpoint_path(move_run, stage), run)
    for stage in ("transformer", "idm"):
        train_stage(TrainConfig(stage=stage, data=str(go_dataset), out=str(run), preset="tiny-code", steps=6,
                                keep_every=3, label_fraction=1.0, eval_windows=16, agent_positions=4),
                    progress=False)
    gpt = json.loads((run / "transformer-metrics.json").read_text())
    assert 0 <= gpt["code_top1"] <= gpt["code_top5"] <= 1 and gpt["code_true_distinct"] >= 1
    assert "imagine_board_accuracy" not in gpt  # it renders no frame of its own
    snaps = sorted(p.name for p in run.glob("transformer-step*.pt"))
    assert snaps == ["transformer-step3.pt", "transformer-step6.pt"]
    snap = load_checkpoint(run / "transformer-step3.pt", stage="transformer")
    assert snap["step"] == 3 and snap["optim"] is None and snap["model_config"]["next_frame_loss_weight"] == 0
    agent = VideoWorldAgent.load(run, AgentConfig(seed=0))
    assert agent.by_ldm
    codes, imagined, _ = agent.draw(_frame(agent.frame_size), 0, 2)
    assert codes.shape == (2, 1) and imagined.shape == (2, 64, 64, 3)
    with pytest.raises(CheckpointError, match="cannot render frame t"):
        VideoWorldAgent.load(run, AgentConfig(imagine="gpt"))
    # code_metrics' teacher-forced top-1 is the share of windows where greedy sampling (generate, with its KV
    # cache: another path through the model) names the true code
    c = agent.gpt.config
    seq = (torch.randint(0, c.frame_vocab, (6, 2, c.frame_tokens)), torch.randint(0, c.code_vocab, (6, 1, 1)),
           torch.tensor([0, 1, 0, 1, 0, 1]))
    greedy = agent.gpt.generate(agent.gpt.build_sequence(*seq)[:, : 1 + c.frame_tokens], 1, temperature=0)[:, -1]
    seq[1][:3, 0, 0] = greedy[:3] - c.offsets[2]  # the first three windows' true code is the greedy one
    named = (greedy - c.offsets[2] == seq[1][:, 0, 0]).float().mean().item()
    m = code_metrics(agent.gpt, {"sequences": seq})
    assert m["code_top1"] == pytest.approx(named) and m["code_top1"] >= 0.5


def test_acting_json_sets_a_runs_defaults_and_travels_with_it(move_run, tmp_path):
    """A run's acting.json (defaults chosen on val positions) is what a spec without options plays with; a spec's own
    options still win; the export keeps the file; a bad file is a one-line CheckpointError."""
    import shutil

    from vw_agent.agent import ACTING, export_run
    from vw_agent.checkpoint import CheckpointError

    run = tmp_path / "run"
    shutil.copytree(move_run, run)
    assert make_player(f"videoworld:run={run}").agent.config.temperature == 1.0  # no file: the ldm-run defaults
    (run / ACTING).write_text(json.dumps({"temperature": 0.5, "vote": 6, "top_k": 20, "chosen_on": "val"}))
    cfg = make_player(f"videoworld:run={run}").agent.config
    assert (cfg.temperature, cfg.vote, cfg.top_k, cfg.pass_share) == (0.5, 6, 20, 0.5)
    assert make_player(f"videoworld:run={run},temperature=0.2,vote=2").agent.config.vote == 2
    shipped = export_run(run, tmp_path / "shipped")
    assert json.loads((shipped / ACTING).read_text())["vote"] == 6
    for bad, why in (("{", "Expecting"), ("[1]", "not a JSON object"), ('{"temp": 1}', "unknown keys temp"),
                     ('{"vote": 0}', "vote must be >= 1")):
        (run / ACTING).write_text(bad)
        with pytest.raises(CheckpointError, match=why):
            make_player(f"videoworld:run={run}")
