"""Scheduler plugins: the cluster-wide records of objects, actors, placement groups,
generator streams, task and actor state, and metrics."""
