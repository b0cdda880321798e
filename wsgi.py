"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""
import gc

from forum import create_app

app = create_app()

# Everything made at start-up (modules, compiled templates, the app) lives as long
# as the process: moved out of the collector's sight, it is not walked again by
# every full collection, which otherwise lands in the middle of drawing a large
# page and shows as a slow tail (bench/thread_page.py reports p95 beside p50).
gc.freeze()
