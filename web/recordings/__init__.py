"""Recorded versions of announcements: upload or record in the browser, preview, remove.

Pages post forms; the browser recorder and other clients use the JSON API (/api/recordings).
"""
