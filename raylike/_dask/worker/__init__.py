"""A Ray node on a Dask worker: the node plugin, its tasks and actor hosts, bundles, GPU ids,
and the items of generators its processes produce."""
