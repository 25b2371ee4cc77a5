"""``smac.env`` of the fake SMAC package: re-exports the fake ``StarCraft2Env`` (see ``fake_smac``).

``StarCraft2Env`` is today's master API; a test swaps in ``LegacyStarCraft2Env`` for the older one.
"""
from fake_smac import StarCraft2Env, get_map_params

__all__ = ["StarCraft2Env", "get_map_params"]
