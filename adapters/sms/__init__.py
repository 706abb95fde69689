"""SMS to citizens. Only a recorder for now: no SMS provider is contracted yet."""

from .recorder import RecordingNotifier, sms_log_handler

__all__ = ["RecordingNotifier", "sms_log_handler"]
