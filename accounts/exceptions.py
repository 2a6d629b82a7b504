from etsy.exceptions import DomainError


class EmailTaken(DomainError):
    code = "email_taken"
    status_code = 400
    default_message = "An account with that email address already exists."
