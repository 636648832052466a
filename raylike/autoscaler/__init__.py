"""``ray.autoscaler``: Ray's cluster autoscaler. raylike has none (a Dask cluster is scaled
by its deployment: dask-kubernetes, dask-jobqueue, adaptive ``Cluster.adapt``); the modules
import so that programs and tests can, and every operation raises ``NotImplementedError``."""
__all__: list[str] = []
