"""The PostgreSQL full-text search engine (``SEARCH_BACKEND=postgres``); see ``backend.py``."""
