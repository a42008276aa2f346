"""TLS for tests on any machine: a CA and certificates made with ``cryptography``, and a TLS
terminator (asyncio, in a thread) in front of a plain TCP server such as the bundled
redis-server, which may have no TLS of its own.

Certificates (all for 127.0.0.1 and localhost unless said otherwise):

- ``server``: valid, signed by ``ca``;
- ``expired``: signed by ``ca``, expired yesterday;
- ``wrong_host``: signed by ``ca``, for ``wrong.example`` only;
- ``client``: a client certificate signed by ``ca``, for servers that require one;
- ``other_ca``: a CA that signed nothing ldtui is shown (a wrong ``ca_file``).

These are reused by tests of ``ldtui doctor`` as well as by the store tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TlsFiles:
    """PEM files in one directory."""

    dir: Path
    ca: Path
    other_ca: Path
    server: CertFiles
    expired: CertFiles
    wrong_host: CertFiles
    client: CertFiles


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _ca(cn: str, path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _leaf(
    d: Path,
    stem: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    names: list[str],
    ips: list[str],
    client: bool = False,
    expired: bool = False,
) -> CertFiles:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(days=10), now - dt.timedelta(days=1))
        if expired
        else (
            now - dt.timedelta(days=1),
            # 90 days, like a Let's Encrypt certificate: not yet "expiring soon" for the doctor.
            now + dt.timedelta(days=90),
        )
    )
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0] if names else stem))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if san:
        cert = cert.add_extension(x509.SubjectAlternativeName(san), critical=False)
    signed = cert.sign(ca_key, hashes.SHA256())
    files = CertFiles(d / f"{stem}.crt", d / f"{stem}.key")
    files.cert.write_bytes(signed.public_bytes(serialization.Encoding.PEM))
    _write_key(key, files.key)
    return files


def make_tls_files(d: Path) -> TlsFiles:
    """A CA, a second CA, and the server and client certificates described above, in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    ca = _ca("ldtui test CA", d / "ca.crt")
    _ca("ldtui other CA", d / "other-ca.crt")
    names, ips = ["localhost"], ["127.0.0.1", "::1"]
    return TlsFiles(
        dir=d,
        ca=d / "ca.crt",
        other_ca=d / "other-ca.crt",
        server=_leaf(d, "server", ca, names=names, ips=ips),
        expired=_leaf(d, "expired", ca, names=names, ips=ips, expired=True),
        wrong_host=_leaf(d, "wrong-host", ca, names=["wrong.example"], ips=[]),
        client=_leaf(d, "client", ca, names=["ldtui-client"], ips=[], client=True),
    )


class TlsTerminator:
    """TLS on 127.0.0.1:``port`` in front of a plain TCP server on ``backend_port``: what a
    stunnel or a cloud Redis's TLS front would do. ``client_ca`` set: clients must present a
    certificate that CA signed.

    Blocking sockets in threads (one per connection, after the handshake a select loop over both
    sides), so a failed handshake ends with the TLS alert a real server sends (asyncio's server
    side just drops the connection)."""

    def __init__(self, backend_port: int, cert: CertFiles, *, client_ca: Path | None = None) -> None:
        self.backend_port = backend_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert.cert, cert.key)
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(client_ca)
        self.port = 0
        self.connections = 0
        self.handshake_errors: list[str] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def url(self, scheme: str = "rediss", host: str = "127.0.0.1", db: int = 0) -> str:
        return f"{scheme}://{host}:{self.port}/{db}"

    def start(self) -> TlsTerminator:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="tls-terminator", daemon=True).start()
        return self

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._track(raw)
            threading.Thread(target=self._serve, args=(raw,), name="tls-connection", daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        tls = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (OSError, ssl.SSLError) as exc:
            self.handshake_errors.append(str(exc))
            self._linger(tls)
            return
        self.connections += 1
        self._track(tls)
        try:
            backend = socket.create_connection(("127.0.0.1", self.backend_port), timeout=10)
        except OSError:
            tls.close()
            return
        self._track(backend)
        try:
            self._pump(tls, backend)
        finally:
            for sock in (tls, backend):
                with contextlib.suppress(OSError):
                    sock.close()

    @staticmethod
    def _linger(sock: socket.socket) -> None:
        """Close after a failed handshake without resetting: what the client sent meanwhile is
        read and dropped, so the TLS alert already sent reaches it instead of a reset (a real
        server may lose that race; ldtui's message covers both)."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)  # an SSLSocket drops TLS here: plain TCP from now on
            sock.settimeout(0.5)
            while sock.recv(1 << 16):
                pass
        sock.close()

    def _pump(self, tls: ssl.SSLSocket, backend: socket.socket) -> None:
        """Both directions in one thread: an SSL object is not used from two threads."""
        tls.settimeout(0.2)
        backend.settimeout(0.2)
        while not self._stop.is_set():
            ready = [tls] if tls.pending() else select.select([tls, backend], [], [], 0.2)[0]
            for sock in ready:
                other = backend if sock is tls else tls
                try:
                    data = sock.recv(1 << 16)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
                except (OSError, ssl.SSLError):
                    return
                if not data:
                    return
                try:
                    other.sendall(data)
                except (OSError, ssl.SSLError):
                    return

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
