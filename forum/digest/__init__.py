"""Digest domain."""
