#!/usr/bin/env bash
# Reproduce the shipped checkpoint assets/checkpoints/go9 from the shipped KataGo games (docs/agent-go.md).
# Run after ./scripts/setup.sh. Writes data/go9-all-sym8 (the 1,175 games of assets/sgf/, each training game
# also rotated and mirrored: ~530 MB of video), runs/go9-move (checkpoints, TensorBoard, metrics), then replaces
# assets/checkpoints/go9 with the run's models (no optimiser state). About an hour on a 2-core CPU; rerunning
# resumes (the recording and every stage continue from where they stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
VW=.venv/bin/vw-agent
DATA=data/go9-all-sym8
if [ -f $DATA/meta.json ]; then RESUME=--resume; else RESUME=; fi
$VW record --env VideoGo-9x9-v0 --from-sgf assets/sgf --symmetries 8 --frame-size 80 --workers 2 --out $DATA $RESUME
$VW train all --data $DATA --out runs/go9-move --preset go9-move --resume
.venv/bin/python -c "from vw_agent.agent import export_run; print(export_run('runs/go9-move', 'assets/checkpoints/go9'))"
