"""Telegram views shared by handlers and background jobs: messages and their keyboards.

One module per topic. Handlers import from here, never from another feature's handlers.
"""
