"""``ray.autoscaler._private.constants``: ``RAY_PROCESSES``, the keywords that identify the
cluster's processes on a machine (Ray's ``ray stop`` kills what they match)."""
__all__ = ["AUTOSCALER_UPDATE_INTERVAL_S", "RAY_PROCESSES"]

# [keyword, match the process name (True) or its whole command line (False)]: raylike's
# processes are Python processes whose command line imports these modules (an embedded
# cluster's processes fork from the first, a node's task processes from the second)
RAY_PROCESSES = [
    ["raylike._dask.cluster.embedded", False],
    ["raylike._process.zygote", False],
]

# how often Ray's autoscaler looks at the cluster (its default, seconds); raylike has no
# autoscaler: the value only says how long Ray's programs wait for its reports
AUTOSCALER_UPDATE_INTERVAL_S = 5
