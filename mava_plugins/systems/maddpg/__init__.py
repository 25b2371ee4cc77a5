"""The maddpg system plugin."""
