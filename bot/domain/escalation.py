"""The roles an alert's escalation pages, step by step (who is asked, and why)."""

from __future__ import annotations

from enum import StrEnum


class StepRole(StrEnum):
    OWNER = "owner"
    COVER = "cover"
    LEAD = "lead"
    BACKUP = "backup"
    ALL = "all"
