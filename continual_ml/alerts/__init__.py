"""Alerts: the messages, their delivery with retries, and Slack and Discord payloads."""
