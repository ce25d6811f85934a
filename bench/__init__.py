"""The gateway's benchmark (run it with ``.venv/bin/python -m bench``; see README.md)."""
