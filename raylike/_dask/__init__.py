"""raylike's Dask boundary: what it needs of Dask beyond Dask's public API.

``internals`` holds every private Dask name raylike relies on, one named accessor each.
"""
