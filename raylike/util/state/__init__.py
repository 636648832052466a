"""``ray.util.state``: list, get and summarize what runs on the cluster (see ``api``)."""
from raylike.util.state.api import (
    get_actor,
    get_node,
    get_objects,
    get_placement_group,
    get_task,
    get_worker,
    list_actors,
    list_jobs,
    list_nodes,
    list_objects,
    list_placement_groups,
    list_tasks,
    list_workers,
    summarize_actors,
    summarize_objects,
    summarize_tasks,
)
from raylike.util.state.client import StateApiClient

__all__ = ["StateApiClient", "get_actor", "get_node", "get_objects", "get_placement_group",
           "get_task", "get_worker", "list_actors", "list_jobs", "list_nodes", "list_objects",
           "list_placement_groups", "list_tasks", "list_workers", "summarize_actors",
           "summarize_objects", "summarize_tasks"]
