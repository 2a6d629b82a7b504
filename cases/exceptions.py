"""Case rule errors. ``status_code`` is a hint for HTTP adapters only."""

from etsy.exceptions import DomainError, NotFound


class CaseNotFound(NotFound):
    code = "case_not_found"
    default_message = "That case does not exist."


class InvalidCase(DomainError):
    """Bad input (kind, description or message). ``extra["field"]`` names it."""

    code = "invalid_case"
    status_code = 400
    default_message = "Describe the problem (at most 2000 characters)."


class CaseTooEarly(DomainError):
    """``extra["estimated_delivery"]``: the date after which a case can be opened (ISO), or null."""

    code = "case_too_early"
    default_message = "You can report a problem once the estimated delivery date has passed."


class CaseAlreadyOpen(DomainError):
    """``extra["case_id"]``: the order's case that is still open."""

    code = "case_open"
    default_message = "This order already has an open case."


class OrderNotCaseable(DomainError):
    """The order's state rules a case out: ``order_cancelled``, ``order_not_paid`` or ``order_delivered``."""

    code = "order_not_caseable"
    default_message = "A case cannot be opened for this order."


class CaseClosed(DomainError):
    code = "case_closed"
    default_message = "This case is closed."


class CaseEscalated(DomainError):
    code = "case_escalated"
    default_message = "This case is with marketplace staff now: they decide on any refund."


class CaseAlreadyRefunded(DomainError):
    code = "case_already_refunded"
    default_message = "You already refunded this case; marketplace staff can refund more if it is escalated."


class CaseDeadlineNotPassed(DomainError):
    """``extra["seller_deadline"]``: when the buyer may escalate (ISO)."""

    code = "case_deadline_not_passed"
    default_message = "The seller still has time to answer; you can escalate after their deadline."


class CaseNotEscalated(DomainError):
    code = "case_not_escalated"
    default_message = "Only an escalated case is decided by marketplace staff."


class NotMarketplaceStaff(DomainError):
    code = "not_marketplace_staff"
    status_code = 403
    default_message = "Only marketplace staff decide escalated cases."
