"""What is wired to the Pi besides the sound card: the amplifier relay and the ALSA mixer.

* :class:`GpioRelay` switches the amplifier's mains relay through gpiozero (an optional import:
  ``pip install broadcaster[pi]``): on ``pre_roll_s`` before a start, off ``post_roll_s`` after
  the last item, so back-to-back items keep it on. Tests use gpiozero's ``MockFactory``.
* :class:`AlsaMixer` sets the playback volume with ``amixer``; without ``amixer`` it does nothing.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class HardwareError(RuntimeError):
    """The relay or mixer could not be driven; the message says why."""


class Relay(Protocol):
    def acquire(self) -> float:
        """Switch the amplifier on (cancelling a pending switch-off); return the seconds left
        until it is ready (its pre-roll), 0 when it already is."""
        ...

    def release(self) -> None:
        """Switch off after the post-roll, unless acquired again before."""
        ...

    @property
    def is_on(self) -> bool: ...

    @property
    def pre_roll_s(self) -> float: ...

    def close(self) -> None: ...


class NoRelay:
    """No relay wired: the amplifier is always on."""

    pre_roll_s = 0.0
    is_on = True

    def acquire(self) -> float:
        return 0.0

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class GpioRelay:
    """An amplifier relay on a GPIO pin (BCM numbering), optionally active-low."""

    def __init__(
        self,
        pin: int,
        *,
        active_low: bool = False,
        pre_roll_s: float = 1.0,
        post_roll_s: float = 5.0,
        pin_factory: Any = None,
    ) -> None:
        try:
            from gpiozero import OutputDevice
        except ImportError as exc:
            raise HardwareError(
                f"relay_pin is set but gpiozero is not installed ({exc}); "
                "install the agent with the `pi` extra"
            ) from None
        try:
            self.device = OutputDevice(
                pin, active_high=not active_low, initial_value=False, pin_factory=pin_factory
            )
        except Exception as exc:  # gpiozero raises many kinds (no pin factory, pin in use…)
            raise HardwareError(f"cannot drive GPIO {pin}: {exc}") from None
        self.pin = pin
        self._pre_roll_s = pre_roll_s
        self.post_roll_s = post_roll_s
        self._lock = threading.Lock()
        self._on_since: float | None = None
        self._timer: threading.Timer | None = None

    @property
    def pre_roll_s(self) -> float:
        return self._pre_roll_s

    @property
    def is_on(self) -> bool:
        with self._lock:
            return self._on_since is not None

    def acquire(self) -> float:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._on_since is None:
                self.device.on()
                self._on_since = time.monotonic()
                logger.info("amplifier relay on (GPIO %d)", self.pin)
            return max(0.0, self._pre_roll_s - (time.monotonic() - self._on_since))

    def release(self) -> None:
        with self._lock:
            if self._on_since is None or self._timer is not None:
                return
            self._timer = threading.Timer(self.post_roll_s, self._off)
            self._timer.daemon = True
            self._timer.start()

    def _off(self) -> None:
        with self._lock:
            self._timer = None
            if self._on_since is not None:
                self.device.off()
                self._on_since = None
                logger.info("amplifier relay off (GPIO %d)", self.pin)

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._on_since = None
        self.device.off()
        self.device.close()


class AlsaMixer:
    """Sets a mixer control's volume in percent with ``amixer``; a no-op without amixer."""

    def __init__(self, control: str = "Master", card: str = "", binary: str = "amixer") -> None:
        self.control = control
        self.card = card
        self.binary = shutil.which(binary)
        self._last: int | None = None
        if self.binary is None:
            logger.info("amixer not found: per-item volume is not applied")

    @property
    def available(self) -> bool:
        return self.binary is not None

    def set(self, percent: int) -> None:
        if self.binary is None or percent == self._last:
            return
        cmd = [self.binary, "-q"]
        if self.card:
            cmd += ["-c", self.card]
        cmd += ["sset", self.control, f"{int(percent)}%"]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HardwareError(f"amixer failed: {exc}") from None
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace").strip()[-200:]
            raise HardwareError(f"amixer could not set {self.control} to {percent}%: {err}")
        self._last = percent
        logger.info("volume %s set to %d%%", self.control, percent)
