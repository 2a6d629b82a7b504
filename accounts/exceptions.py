from etsy.exceptions import DomainError


class InvalidSignUpLink(DomainError):
    code = "invalid_signup_link"
    status_code = 400
    default_message = "This link was already used or is too old. Sign up again to get a new one."
