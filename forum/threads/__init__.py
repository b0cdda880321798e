"""Threads domain."""
