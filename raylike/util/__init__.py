"""``ray.util``: helpers Ray users import by path (``ray.util.queue`` is imported on use)."""
from raylike._actors import list_named_actors
from raylike.util import scheduling_strategies
from raylike.util.actor_pool import ActorPool

__all__ = ["ActorPool", "get_node_ip_address", "list_named_actors", "scheduling_strategies"]


def get_node_ip_address() -> str:
    """The IP address of the node the caller runs on (127.0.0.1 on the embedded cluster)."""
    from raylike import _context, _state

    info = _context.current()
    nodes = _state.nodes()
    if info is not None:
        for node in nodes:
            if node["NodeID"] == info.node_id:
                return str(node["NodeManagerAddress"])
    return str(nodes[0]["NodeManagerAddress"]) if nodes else "127.0.0.1"
