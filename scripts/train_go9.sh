#!/usr/bin/env bash
# Reproduce the shipped checkpoint assets/checkpoints/go9 from the shipped KataGo games (docs/agent-go.md).
# Run after ./scripts/setup.sh. Writes data/go9-all-sym8-72 (the 1,175 games of assets/sgf/, each training game
# also rotated and mirrored, at 72 px: ~520 MB of video), runs/go9-point (checkpoints, TensorBoard, metrics), then
# replaces assets/checkpoints/go9 with the run's models (no optimiser state). About an hour on a 2-core CPU;
# rerunning resumes (the recording and every stage continue from where they stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
VW=.venv/bin/vw-agent
DATA=data/go9-all-sym8-72
RUN=runs/go9-point
if [ -f $DATA/meta.json ]; then RESUME=--resume; else RESUME=; fi
$VW record --env VideoGo-9x9-v0 --from-sgf assets/sgf --symmetries 8 --frame-size 72 --workers 2 --out $DATA $RESUME
$VW train tokenizer --data $DATA --out $RUN --preset go9-point --resume
$VW train ldm --data $DATA --out $RUN --preset go9-point --resume
# the LDM's decoder alone, 2,000 steps more: the codes stay, the decoded frame gets sharper
$VW train ldm --decoder-only --steps 2000 --data $DATA --out $RUN --preset go9-point --resume
$VW train transformer --data $DATA --out $RUN --preset go9-point --resume
$VW train idm --data $DATA --out $RUN --preset go9-point --resume
.venv/bin/python -c "from vw_agent.agent import export_run; print(export_run('$RUN', 'assets/checkpoints/go9'))"
