"""The processes that run beside the API: the sweeper, the webhook deliverer, the supervisor
that keeps them running under `resolution serve`, and gunicorn's settings."""
