"""imagebot's test bed: real registries and synthetic images for tests, the demo and benchmarks.

Not part of the ``imagebot`` package (pre-commit keeps its fixture builders in ``testing/`` the
same way). The pieces, smallest first:

* :mod:`testing.images` — synthetic images, OCI/Docker manifests and indexes, as bytes;
* :mod:`testing.credentials` — ``Credentials`` and dockerconfigjson / ``config.json`` writers;
* :mod:`testing.pusher` — a seeding client that answers Basic and Bearer challenges;
* :mod:`testing.tokenserver` — an in-process Docker token server (ES256, libtrust ``kid``);
* :mod:`testing.certs` — a throwaway CA and server certificate;
* :mod:`testing.registry` — :class:`RegistryServer`, a private ``docker-registry`` process;
* :mod:`testing.gitrepos`, :mod:`testing.gitserver`, :mod:`testing.gitsshd` — hermetic bare
  repositories and real git remotes over smart HTTP and SSH.

See ``docs/testing.md``.
"""

from testing.credentials import Credentials
from testing.images import Image, Index, Platform, build_image, build_index
from testing.pusher import Pusher, PushError
from testing.registry import DEFAULT_USERS, Mode, RegistryServer, RegistryStartError, free_port
from testing.tokenserver import Access, TokenServer

__all__ = [
    "DEFAULT_USERS",
    "Access",
    "Credentials",
    "Image",
    "Index",
    "Mode",
    "Platform",
    "PushError",
    "Pusher",
    "RegistryServer",
    "RegistryStartError",
    "TokenServer",
    "build_image",
    "build_index",
    "free_port",
]
