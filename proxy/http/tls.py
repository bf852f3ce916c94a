"""The TLS contexts of both sides: the one the server listens with and the one the upstream
pools connect with.

Why one module for both: they are the same decision made twice (which TLS versions, which
certificates from which files), and keeping them side by side keeps that decision one policy:
TLS 1.2 or later and Python's default ciphers on both ends. Neither side needs the other's
code; each context is built once, when a server or a pool is made.
"""

from __future__ import annotations

import ssl


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """The context for serving HTTPS with this certificate chain and key: TLS 1.2 or later,
    Python's default ciphers, HTTP/1.1 offered by ALPN (the only protocol spoken here)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def client_tls_context(
    ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """Verification against ``ca_file`` only when given (a private CA), else the system
    store; with ``cert_file`` (and ``key_file``), a client certificate for mTLS upstreams."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context
