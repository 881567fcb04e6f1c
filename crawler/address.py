"""Where the crawler may go: which URLs and which connected addresses are refused, and why.

Checked twice: on the URL (sources file, admin API, ad-hoc crawls, every link and redirect) and on the address
a connection actually reached (``crawler.transport``), so a name that resolves to an internal address, at
first or only later (DNS rebinding), is refused as well. Link-local and cloud metadata addresses are refused
always; loopback and private ranges only when a setting allows them (the demo and the tests crawl 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from nianbao.settings import Settings

# Instance metadata services that are not link-local: Alibaba Cloud, Azure's wire server, AWS over IPv6.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "168.63.129.16", "fd00:ec2::254")
)
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_loopback: bool = False  # settings.crawl_allow_loopback
    allow_private: bool = False  # settings.crawl_allow_private

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(allow_loopback=settings.crawl_allow_loopback, allow_private=settings.crawl_allow_private)

    def refusal(self, address: str | IpAddress) -> str | None:
        """Why the crawler must not talk to this IP address, or None when it may."""
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        if ip in METADATA_ADDRESSES:
            return f"{ip} is a cloud metadata address"
        if ip.is_link_local:
            return f"{ip} is a link-local address"
        if ip.is_loopback:
            return None if self.allow_loopback else f"{ip} is a loopback address (setting crawl_allow_loopback)"
        if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            return f"{ip} is not a unicast address"
        if not ip.is_global:
            return None if self.allow_private else f"{ip} is a private address (setting crawl_allow_private)"
        return None

    def url_refusal(self, url: str) -> str | None:
        """Why this URL is refused before any connection (scheme, credentials, an address or name that is
        known to be internal), or None. A host name is checked again on the address it connects to."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
        except ValueError as exc:
            return f"not a valid URL: {exc}"
        if parts.scheme not in ("http", "https"):
            return f"not an http(s) URL: {url[:200]!r}"
        if not parts.hostname:
            return f"no host in URL: {url[:200]!r}"
        if "@" in parts.netloc:
            return "URLs with credentials (user:password@) are not crawled"
        host = parts.hostname.rstrip(".").lower()
        if host in METADATA_HOSTS:
            return f"{host} is a cloud metadata host"
        if host == "localhost" or host.endswith(".localhost"):
            return None if self.allow_loopback else f"{host} is a loopback name (setting crawl_allow_loopback)"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return None  # a name: judged by the address it connects to
        return self.refusal(ip)
