"""OCOP Bot: settings, engine, channels, sender, rules and wiring (see docs/architecture.md)."""
