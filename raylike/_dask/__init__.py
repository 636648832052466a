"""raylike's Dask boundary: the only code that imports ``distributed`` or ``dask``.

Split by the Dask role each part extends:

* ``client``: the driver's backend on a ``distributed.Client`` (tasks, objects, direct actor
  calls, Dask interop);
* ``scheduler``: scheduler plugins (object wishes, actor and placement-group registries,
  generator streams, the state API's records, metrics);
* ``worker``: the node plugin on every Dask worker (tasks, actor hosts, bundles, GPU ids,
  generator items);
* ``cluster``: starting Dask's scheduler and workers (the embedded cluster, ``cluster_utils``
  nodes, ``--preload``, the ``raylike`` command line).

``internals`` holds every private Dask name raylike relies on, one named accessor each, and
``errors`` turns every Dask exception into ``raylike.exceptions``.
"""
