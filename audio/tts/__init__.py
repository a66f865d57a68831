"""TTS engines behind one interface (``base.TTSEngine``), one module per engine, and the
registry (``registry.make_engine``) that picks one by its configured name."""
