"""What can go wrong sending an SMS, as the core sees it. A Notifier (ports.carrier) raises these; the
use cases decide: try again later, give the code to the citizen on paper, or have staff fix the setup."""

from __future__ import annotations


class SmsError(Exception):
    """Base for SMS failures. `code` is the provider's own error code (kept for the audit trail)."""

    transient = False

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class SmsUnavailable(SmsError):
    """Network error, timeout, 5xx, the provider's own system error: try again later."""

    transient = True


class SmsThrottled(SmsUnavailable):
    """The provider's flow control (too many messages to this number or from this account): later."""


class SmsRejected(SmsError):
    """This message will never go as it is (invalid number, number blacklisted, parameters refused)."""


class SmsMisconfigured(SmsError):
    """Our setup is wrong (keys, signature, sign name, template): staff must fix the configuration."""


class SmsTemplateMissing(SmsMisconfigured):
    """No provider template is configured for this kind of message."""
