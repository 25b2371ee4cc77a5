"""The matching game, packaged as a Mava environment-family plugin."""
