"""The automation settings screen (SPEC §5): a list of rows whose types own their keys and text."""

from app.screens.settings.screen import SettingsScreen

__all__ = ["SettingsScreen"]
