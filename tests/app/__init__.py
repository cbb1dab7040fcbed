from pathlib import Path

APP = str(Path(__file__).resolve().parents[2] / "app.py")
