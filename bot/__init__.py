"""Telegram assistant for account managers."""
