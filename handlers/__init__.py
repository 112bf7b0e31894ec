"""Conversation flows, one module per flow, channel-neutral; each has a .mmd diagram."""
