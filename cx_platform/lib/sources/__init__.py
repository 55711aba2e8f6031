"""Source adapters: one module per export format. See ``base.py`` for the contract."""
