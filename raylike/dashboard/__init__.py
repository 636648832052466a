"""``ray.dashboard``: raylike's dashboard is Dask's (its URL is ``init``'s
``dashboard_url``); ``utils`` has the one helper programs import."""
__all__: list[str] = []
