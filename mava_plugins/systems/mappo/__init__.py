"""The mappo system plugin."""
