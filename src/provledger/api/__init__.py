"""The provenance gateway (FastAPI): ``create_app(settings)``, routers, problem+json, metrics."""
