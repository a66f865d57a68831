"""The playback log: what each speaker site played, when, and how it went."""
