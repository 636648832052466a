"""The Dask dashboard of the embedded cluster (needs bokeh: ``tox -e dashboard``; the default
run leaves these out with ``-m "not dashboard"``)."""
from __future__ import annotations

import urllib.request

import pytest
from test_embedded import loopback_sockets

pytestmark = pytest.mark.dashboard


def test_dashboard_listens_on_loopback_only_and_is_announced(unused_address: str,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    import bokeh  # noqa: F401 - Dask's dashboard pages: without them this fails, never skips

    port = int(unused_address.rsplit(":", 1)[1])
    listening, ctx = loopback_sockets(include_dashboard=True, dashboard_port=port)
    assert ("127.0.0.1", port) in listening
    exposed = {addr: pid for addr, pid in listening.items() if addr[0] != "127.0.0.1"}
    assert exposed == {}, f"sockets not bound to 127.0.0.1 (address: pid): {exposed}"
    assert ctx.dashboard_url == f"127.0.0.1:{port}"
    assert ctx.address_info["webui_url"] == ctx.dashboard_url
    said = capsys.readouterr()  # init's INFO line (Ray's, on stderr) names the dashboard
    assert f"View the dashboard at http://127.0.0.1:{port}" in said.out + said.err
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as page:
        assert page.status == 200
