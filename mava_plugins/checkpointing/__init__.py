"""Checkpoints of a run: trainer state, counts and replay contents under ``run_dir/checkpoints``."""
