"""Fake SMAC package for tests: importable as ``smac`` only when a test puts ``tests/fakes`` on sys.path."""
