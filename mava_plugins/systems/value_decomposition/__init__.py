"""The value_decomposition system plugin."""
