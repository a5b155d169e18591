"""The API's routers, one per area: meta (health, library, scenarios), runs (simulate, compare,
downloads), jobs and store. :func:`flopgrid.web.app.create_app` mounts them under ``/api``."""
