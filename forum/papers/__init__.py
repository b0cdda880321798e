"""Papers domain."""
