"""The network settings a self-hosted runner or GitHub Enterprise Server gives a job (proxies and CA
certificates), read once from the environment and applied alike to both HTTP clients.

httpx (Recoupable) reads `SSL_CERT_FILE` and `SSL_CERT_DIR`, requests (GitHub, through PyGithub) reads
`REQUESTS_CA_BUNDLE` and `CURL_CA_BUNDLE`: left to themselves, a CA given one way works for one API only. Here
every CA file or folder any of the four names is gathered into one set of certificates, which both clients
trust (instead of the public ones, as each client does with its own variables). With none set, both trust the
same public bundle (certifi's).

Proxies: both clients read `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (any case) themselves; only
`http://` and `https://` proxies work with both, so any other scheme is refused here, before anything is sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from .errors import SetupError

if TYPE_CHECKING:
    import ssl

CA_FILE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
CA_DIR_VARIABLE = "SSL_CERT_DIR"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
PROXY_SCHEMES = ("http", "https")


class Network(NamedTuple):
    """The CA certificates both clients trust: PEM text, or None for the public bundle both use by default."""

    ca_pem: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The context httpx verifies with; None for its default (the public bundle)."""
        if self.ca_pem is None:
            return None
        import ssl  # noqa: PLC0415 (only where a CA is given: a run without one does not load it for this)

        return ssl.create_default_context(cadata=self.ca_pem)

    def requests_verify(self) -> str | bool:
        """What requests verifies with: a file holding `ca_pem` (written once, removed at exit), or True."""
        if self.ca_pem is None:
            return True
        if self.ca_pem not in _WRITTEN:
            import atexit  # noqa: PLC0415 (only where a CA is given)
            import tempfile  # noqa: PLC0415

            handle, name = tempfile.mkstemp(prefix="recoup-ca-", suffix=".pem")
            with os.fdopen(handle, "w", encoding="ascii") as file:
                file.write(self.ca_pem)
            atexit.register(Path(name).unlink, missing_ok=True)
            _WRITTEN[self.ca_pem] = name
        return _WRITTEN[self.ca_pem]


_WRITTEN: dict[str, str] = {}


def read_network(environ: Mapping[str, str]) -> Network:
    """The network settings of `environ`; a `SetupError` naming the variable where one cannot work."""
    for name in PROXY_VARIABLES:
        for variable in (name, name.lower()):
            _check_proxy(variable, environ.get(variable, "").strip())
    sources = [(name, environ[name].strip()) for name in (*CA_FILE_VARIABLES, CA_DIR_VARIABLE) if environ.get(name)]
    if not sources:
        return Network()
    import ssl  # noqa: PLC0415 (only where a CA is given)

    gathered = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for variable, value in sources:
        paths = value.split(os.pathsep) if variable == CA_DIR_VARIABLE else [value]
        for path in paths:
            _load(gathered, variable, Path(path))
    certificates = gathered.get_ca_certs(binary_form=True)
    if not certificates:
        names = ", ".join(variable for variable, _ in sources)
        raise SetupError(f"{names} name no CA certificate (PEM) that could be read")
    return Network(ca_pem="".join(ssl.DER_cert_to_PEM_cert(der) for der in certificates))


def _check_proxy(variable: str, value: str) -> None:
    if not value:
        return
    scheme = urlsplit(value).scheme.lower() if "://" in value else "http"
    if scheme not in PROXY_SCHEMES:
        raise SetupError(f"{variable} is a {scheme}:// proxy, which is not supported; use an http:// or https:// proxy")


def _load(context: ssl.SSLContext, variable: str, path: Path) -> None:
    """Every certificate of the file, or of each file in the folder, named by `variable`."""
    import ssl  # noqa: PLC0415 (already loaded by the caller)

    if path.is_dir():
        try:
            files = sorted(entry for entry in path.iterdir() if entry.is_file())
        except OSError as error:
            raise SetupError(_unreadable(variable, path, error)) from None
        for file in files:
            try:
                context.load_verify_locations(cafile=str(file))
            except (OSError, ValueError):  # ssl.SSLError is an OSError
                continue  # a folder of CAs may hold other files (an index, a README)
        return
    if variable == CA_DIR_VARIABLE:
        raise SetupError(f"{variable} names {path}, which is not a folder of CA certificates")
    try:
        context.load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError):  # before OSError, of which ssl.SSLError is a kind
        raise SetupError(f"{variable} names {path}, which holds no CA certificate (PEM)") from None
    except OSError as error:
        raise SetupError(_unreadable(variable, path, error)) from None


def _unreadable(variable: str, path: Path, error: OSError) -> str:
    reason = error.strerror or type(error).__name__
    return f"{variable} names {path}, which cannot be read ({reason})"
