"""Reusable pieces that systems are built from (policies, target updates, value targets)."""
