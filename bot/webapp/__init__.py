"""The Telegram Mini App: its page (static/), JSON API and read-models."""
