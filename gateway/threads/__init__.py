"""Threads: replies in existing cases, who may write into them, and e-mail commands."""
