from etsy.exceptions import DomainError


class InvalidSignUpLink(DomainError):
    code = "invalid_signup_link"
    status_code = 400
    default_message = "This link was already used or is too old. Sign up again to get a new one."


class InvalidEmailChangeLink(DomainError):
    code = "invalid_email_change_link"
    status_code = 400
    default_message = "This link was already used, is too old, or belongs to another address. Ask for a new one."


class EmailAlreadyTaken(DomainError):
    code = "email_taken"
    default_message = "Another account already uses this email address."


class AddressNotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_message = "No such address in your address book."


class AddressBookFull(DomainError):
    code = "address_book_full"
    default_message = "Your address book is full: delete an address before adding another."
