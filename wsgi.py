"""The WSGI entry point for any server: `gunicorn wsgi:app` (with MONGODB_URI set)."""

from resolution.web.app import create_app

app = create_app()
