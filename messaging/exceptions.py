"""Domain errors of messaging (the API maps them to their status; HTML views show their message)."""

from etsy.exceptions import DomainError


class ConversationNotFound(DomainError):
    code = "conversation_not_found"
    status_code = 404
    default_message = "No such conversation among yours."


class InvalidMessage(DomainError):
    """Empty, too long, or too many pictures; ``extra["fields"]`` names the field."""

    code = "invalid_message"
    status_code = 400
    default_message = "This message cannot be sent."


class CannotMessage(DomainError):
    """The recipient cannot be reached: your own shop, a closed shop, a listing or order not of this shop."""

    code = "cannot_message"
    status_code = 400
    default_message = "You cannot send this message."


class Blocked(DomainError):
    code = "blocked"
    status_code = 403
    default_message = "You cannot message each other."


class RateLimited(DomainError):
    """Too many conversations or messages lately; ``extra["retry_after"]`` is in seconds."""

    code = "throttled"
    status_code = 429
    default_message = "You are sending too many messages. Try again later."

    @property
    def retry_after(self) -> int:
        return int(self.extra.get("retry_after", 60))
