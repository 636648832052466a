"""The driver's side of Dask: ``DaskBackend`` on a ``distributed.Client`` (also used by a worker
for the calls its tasks make), task graphs, direct actor calls, lanes' client end, Dask interop."""
