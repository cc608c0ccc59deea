"""Channel adapters: SMTP email, the local mail catcher, an HTTP SMS provider."""

from civicloom.notifications.adapters.email import MailDropChannel, SmtpChannel, build_email
from civicloom.notifications.adapters.sms import HttpSmsChannel

__all__ = ["HttpSmsChannel", "MailDropChannel", "SmtpChannel", "build_email"]
