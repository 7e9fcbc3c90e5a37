import numpy as np
import pytest

from vw_envs.go.render import BLACK_RGB, BOARD_RGB, BoardRenderer, RenderConfig, frame_to_board


@pytest.mark.parametrize("frame_size", [64, 128, 256])
@pytest.mark.parametrize("n", [9, 13, 19])
def test_frame_to_board_recovers_random_boards(n, frame_size):
    rng = np.random.default_rng(n * frame_size)
    cfg = RenderConfig(frame_size=frame_size)
    r = BoardRenderer(n, cfg)
    for _ in range(5):
        board = rng.integers(0, 3, n * n).astype(np.int8)
        frame = r.render(board)
        assert frame.shape == (frame_size, frame_size, 3) and frame.dtype == np.uint8
        assert np.array_equal(frame_to_board(frame, n, cfg).reshape(-1), board)


def test_frame_to_board_tolerates_noise():
    """Imagined frames are noisy; the classifier averages a window, so mild noise still reads back."""
    rng = np.random.default_rng(0)
    r = BoardRenderer(9, RenderConfig())
    board = rng.integers(0, 3, 81).astype(np.int8)
    noisy = np.clip(r.render(board) + rng.normal(0, 25, (128, 128, 3)), 0, 255).astype(np.uint8)
    assert np.array_equal(frame_to_board(noisy, 9).reshape(-1), board)


def test_incremental_render_equals_fresh_render():
    rng = np.random.default_rng(1)
    cfg = RenderConfig(frame_size=128, last_move_marker=True)
    inc = BoardRenderer(19, cfg)
    for _ in range(20):
        board = rng.integers(0, 3, 361).astype(np.int8)
        last = int(rng.integers(361))
        assert np.array_equal(inc.render(board, last), BoardRenderer(19, cfg).render(board, last))


def test_default_style_is_the_papers():
    frame = BoardRenderer(9, RenderConfig()).render(np.zeros(81, np.int8))
    corner = frame[2, 2]
    assert tuple(corner) == BOARD_RGB  # flat orange background
    frame2 = BoardRenderer(9, RenderConfig()).render(np.ones(81, np.int8))
    r = BoardRenderer(9, RenderConfig())
    cx = round(r.layout.centre(4))
    assert tuple(frame2[cx, cx]) == BLACK_RGB


def test_point_at_inverts_layout():
    r = BoardRenderer(19, RenderConfig(frame_size=512, coordinates=True))
    for p in (0, 18, 180, 360):
        row, col = divmod(p, 19)
        assert r.point_at(r.layout.centre(col) + 2, r.layout.centre(row) - 2) == p
    assert r.point_at(1, 1) is None


def test_frame_size_bounds():
    with pytest.raises(ValueError, match="64..512"):
        RenderConfig(frame_size=32)


def test_render_config_from_meta():
    """One reading of a dataset's look: its render entry, at the dataset's side or at a given one."""
    meta = {"frame_size": 64, "render": {"frame_size": 64, "last_move_marker": True, "coordinates": False,
                                         "board_size": 9}}
    assert RenderConfig.from_meta(meta) == RenderConfig(64, last_move_marker=True)
    assert RenderConfig.from_meta(meta, frame_size=128) == RenderConfig(128, last_move_marker=True)
    assert RenderConfig.from_meta({"render": {"coordinates": True}}, 96) == RenderConfig(96, coordinates=True)
    assert RenderConfig.from_meta(None, 64) == RenderConfig(64)  # a checkpoint without dataset provenance
    with pytest.raises(ValueError, match="frame_size"):
        RenderConfig.from_meta({"render": {}})
