#!/usr/bin/env bash
# Reproduce the shipped checkpoint assets/checkpoints/go9 from the shipped KataGo games (see README "Agent").
# Run after ./scripts/setup.sh. Writes data/go9 (25 MB video), runs/go9 (checkpoints, TensorBoard, metrics),
# then replaces assets/checkpoints/go9 with the run's models (no optimiser state).
set -euo pipefail
cd "$(dirname "$0")/.."
VW=.venv/bin/vw-agent
[ -f data/go9/meta.json ] || $VW record --env VideoGo-9x9-v0 --from-sgf assets/sgf/go9-katago-policy.sgfs \
    --frame-size 80 --out data/go9
$VW train all --data data/go9 --out runs/go9 --preset go9-cpu --resume
.venv/bin/python -c "from vw_agent.agent import export_run; print(export_run('runs/go9', 'assets/checkpoints/go9'))"
