"""``ray.dashboard.utils``: the dashboard's address."""
from __future__ import annotations

from raylike._api import runtime as _runtime

__all__ = ["ray_address_to_api_server_url"]


def ray_address_to_api_server_url(address: str | None) -> str:
    """The HTTP URL of the dashboard of the cluster this driver is connected to (``address``
    ``None``, ``"auto"`` or that cluster's). raylike's dashboard is Dask's: ``ValueError``
    when the cluster has none."""
    runtime = _runtime.driver()
    if runtime is None:
        raise ValueError("Couldn't obtain the API server address: this process is not "
                         "connected to a cluster (call ray.init first).")
    own = runtime.context.address_info.get("gcs_address")
    if address not in (None, "auto") and _runtime.gcs_address(address) != own:
        raise ValueError(f"raylike can give the dashboard only of the cluster it is connected "
                         f"to ({own}), not of {address}")
    url = runtime.context.dashboard_url
    if not url:
        raise ValueError("Couldn't obtain the API server address: the cluster runs no "
                         "dashboard.")
    return url if "://" in url else f"http://{url}"
