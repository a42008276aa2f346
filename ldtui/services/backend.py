"""Where the app's data comes from: a configured profile (the real API), or an emulator
in-process (tests, snapshots; the demo's backend, in ``ldtui.emulator.demo``, is one). No
Textual here, and no emulator import: the runtime is handed in."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import Any

from ldtui.api.client import LaunchDarklyClient, RetryNotice
from ldtui.config import Config, ConfigError

ProgressFn = Callable[[str], None]


class Backend(abc.ABC):
    """Gives the app a REST client and says what it is connected to."""

    label: str = ""
    base_url: str = ""
    clock: Callable[[], float] = time.time

    def __init__(self, client_options: dict[str, Any] | None = None) -> None:
        # Store connections for the status panel and the inspector.
        self.config: Config | None = None
        self._client: LaunchDarklyClient | None = None
        self.on_retry: Callable[[RetryNotice], None] | None = None
        # Extra LaunchDarklyClient arguments (tests inject sleep, timeouts).
        self.client_options: dict[str, Any] = client_options or {}

    async def start(self, progress: ProgressFn | None = None) -> None:  # noqa: B027
        """Prepare (resolve secrets, start local services). Raises ``ConfigError`` or
        ``RuntimeError`` with a message for the person at the keyboard."""

    @abc.abstractmethod
    def _make_client(self) -> LaunchDarklyClient: ...

    @property
    def client(self) -> LaunchDarklyClient:
        if self._client is None:
            self._client = self._make_client()
            self._client.on_retry = self._retry
        return self._client

    def _retry(self, notice: RetryNotice) -> None:
        if self.on_retry is not None:
            self.on_retry(notice)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class ProfileBackend(Backend):
    """A profile from the configuration: the real LaunchDarkly API."""

    def __init__(
        self, config: Config, profile: str | None = None, *, client_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(client_options)
        self.config = self.profile_config = config
        name, prof = config.profile(profile)
        self.label = name
        self.profile = prof
        self.base_url = prof.resolved_base_url
        self.read_only = prof.read_only
        self._token: Any = None

    async def start(self, progress: ProgressFn | None = None) -> None:
        self._token = self.profile_config.token(self.label)

    def _make_client(self) -> LaunchDarklyClient:
        if self._token is None:
            raise ConfigError("the backend was not started", key="profile")
        options = {"timeout": self.profile.timeout, **self.client_options}
        return LaunchDarklyClient(self.base_url, self._token, **options)


class EmulatorBackend(Backend):
    """The emulator in-process (``httpx.ASGITransport``): tests, snapshots and the demo."""

    label = "emulator"
    base_url = "http://emulator.local"

    def __init__(
        self,
        runtime: Any,
        token: str,
        *,
        clock: Callable[[], float] | None = None,
        client_options: dict[str, Any] | None = None,
        config: Config | None = None,
    ):
        super().__init__(client_options)
        self.runtime = runtime
        self.token = token
        self.config = config
        if clock is not None:
            self.clock = clock

    def _make_client(self) -> LaunchDarklyClient:
        return LaunchDarklyClient(
            self.base_url, self.token, transport=self.runtime.transport(), **self.client_options
        )
