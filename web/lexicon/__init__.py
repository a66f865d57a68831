"""The admins' lexicon: list and search entries, add, edit, delete, import a file, try a text.

Entries apply at the next render (``workflow.submit`` reads the lexicon from the database).
"""
