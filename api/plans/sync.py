"""Placeholder (issue 15, in progress)."""

from __future__ import annotations

TABLES: tuple[()] = ()
