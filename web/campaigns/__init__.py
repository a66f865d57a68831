"""Campaigns: list, create and edit them, and see planned vs achieved airings per zone."""
