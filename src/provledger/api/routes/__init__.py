"""The REST routes, one module an area (FastAPI's "bigger applications"): each module's
``add_routes(router, gateway)`` puts its routes on the app's own router."""
