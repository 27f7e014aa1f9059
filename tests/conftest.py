"""Shared fixtures: offscreen Qt and one demo model set per test session."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
