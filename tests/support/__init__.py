"""Helpers shared by several test folders: browsers, web apps, agents."""
