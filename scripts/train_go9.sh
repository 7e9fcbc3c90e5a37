#!/usr/bin/env bash
# Reproduce the shipped checkpoint assets/checkpoints/go9 from the shipped KataGo games (docs/agent-go.md).
# Run after ./scripts/setup.sh. Writes data/go9-all-sym8-72 (the 1,175 games of assets/sgf/, each training game
# also rotated and mirrored, at 72 px: ~520 MB of video), runs/go9-code (checkpoints, TensorBoard, metrics), then
# replaces assets/checkpoints/go9 with the run's models (no optimiser state) and its acting defaults. About 1 h 45
# min on a 2-core CPU (docs/agent-go.md); rerunning resumes (the recording and every stage continue from where
# they stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
VW=.venv/bin/vw-agent
DATA=data/go9-all-sym8-72
RUN=runs/go9-code
if [ -f $DATA/meta.json ]; then RESUME=--resume; else RESUME=; fi
$VW record --env VideoGo-9x9-v0 --from-sgf assets/sgf --symmetries 8 --frame-size 72 --workers 2 --out $DATA $RESUME
$VW train tokenizer --data $DATA --out $RUN --preset go9-code --resume
$VW train ldm --data $DATA --out $RUN --preset go9-code --resume
# the LDM's decoder alone, 2,000 steps more: the codes stay, the decoded frame gets sharper
$VW train ldm --decoder-only --steps 2000 --data $DATA --out $RUN --preset go9-code --resume
$VW train transformer --data $DATA --out $RUN --preset go9-code --resume
$VW train idm --data $DATA --out $RUN --preset go9-code --resume
# acting defaults, chosen on the val split's positions (vw-agent eval knowledge --split val; docs/agent-go.md)
cat > $RUN/acting.json <<'JSON'
{
  "temperature": 0.5,
  "vote": 8,
  "pass_share": 0.99,
  "chosen_on": "Action-Value on 600 positions of the 50 val games (data/go9-all-sym8-72, split val) among temperatures 1, 0.7, 0.5, 0.3 with a vote of 8 and greedy with one draw: docs/agent-go.md"
}
JSON
.venv/bin/python -c "from vw_agent.agent import export_run; print(export_run('$RUN', 'assets/checkpoints/go9'))"
