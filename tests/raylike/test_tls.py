"""``ray.init("tls://...")`` on a Dask cluster that only speaks TLS: with the certificate (from
Dask's configuration, or a ``distributed.Client`` made with a ``Security``) it works; without
it, or with a certificate of another authority, it is refused with a clear error within
seconds. Certificates are made for the test by ``distributed.Security.temporary()``."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import pytest

import raylike as ray
from raylike.exceptions import RaySystemError

pytest.importorskip("cryptography")  # Security.temporary() needs it
pytestmark = pytest.mark.timeout(120)


@dataclass
class Certs:
    ca: str
    cert: str
    key: str

    def cli(self) -> list[str]:
        return ["--tls-ca-file", self.ca, "--tls-cert", self.cert, "--tls-key", self.key]

    def config(self) -> dict[str, Any]:
        """Dask configuration that makes every client of this process use them."""
        return {"distributed.comm.tls.ca-file": self.ca,
                "distributed.comm.tls.client.cert": self.cert,
                "distributed.comm.tls.client.key": self.key,
                "distributed.comm.require-encryption": True}

    def security(self) -> Any:
        from distributed import Security

        return Security(tls_ca_file=self.ca, tls_client_cert=self.cert,
                        tls_client_key=self.key, require_encryption=True)


def make_certs(folder: Path) -> Certs:
    """A CA and one certificate it signed (PEM files), made by Dask for tests."""
    from distributed import Security

    sec = Security.temporary()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, pem in (("ca", sec.tls_ca_file), ("cert", sec.tls_scheduler_cert),
                      ("key", sec.tls_scheduler_key)):
        path = folder / f"{name}.pem"
        path.write_text(pem)
        path.chmod(0o600)
        paths[name] = str(path)
    return Certs(**paths)


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory,
                start_cluster: Any) -> Iterator[tuple[str, Certs]]:
    """A TLS-only scheduler and one worker, both on 127.0.0.1."""
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    cluster = start_cluster("tls", certs.cli(), certs.security())
    try:
        cluster.start_worker(nthreads=2)
        yield cluster.address, certs
    finally:
        cluster.close()


@ray.remote
def double(x: int) -> int:
    return x * 2


@ray.remote
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def incr(self) -> int:
        self.n += 1
        return self.n


def _exercise() -> None:
    assert ray.get([double.remote(i) for i in range(5)], timeout=60) == [0, 2, 4, 6, 8]
    assert ray.get(double.remote(ray.put(21)), timeout=60) == 42
    counter = Counter.remote()
    assert ray.get([counter.incr.remote() for _ in range(3)], timeout=60) == [1, 2, 3]


def test_tls_address_with_certificates_in_dask_config(tls_cluster: tuple[str, Certs]) -> None:
    address, certs = tls_cluster
    with dask.config.set(certs.config()):
        ctx = ray.init(address)
        assert ctx.address_info["address"] == address
        _exercise()
        ray.shutdown()


def test_tls_with_a_client_made_with_security(tls_cluster: tuple[str, Certs]) -> None:
    from distributed import Client

    address, certs = tls_cluster
    client = Client(address, security=certs.security(), set_as_default=False)
    try:
        ray.init(address=client)
        _exercise()
        ray.shutdown()
    finally:
        client.close()


def test_a_client_without_the_certificate_is_refused(tls_cluster: tuple[str, Certs]) -> None:
    address, _certs = tls_cluster
    for target in (address, address.replace("tls://", "tcp://")):
        start = time.monotonic()
        with pytest.raises(RaySystemError, match=target):
            ray.init(target)
        assert time.monotonic() - start < 30, target
        assert not ray.is_initialized()


def test_a_certificate_of_another_authority_is_refused(tls_cluster: tuple[str, Certs],
                                                       tmp_path: Path) -> None:
    address, _certs = tls_cluster
    stranger = make_certs(tmp_path / "stranger")
    start = time.monotonic()
    with dask.config.set(stranger.config()):
        with pytest.raises(RaySystemError, match=address):
            ray.init(address)
    assert time.monotonic() - start < 30
    assert not ray.is_initialized()
    with dask.config.set(tls_cluster[1].config()):  # the cluster still serves good clients
        ray.init(address)
        assert ray.get(double.remote(1), timeout=60) == 2
