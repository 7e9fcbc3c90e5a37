"""Package data: meshes, URDFs and small checkpoints, shipped inside the wheel as ``vw_assets``."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent
