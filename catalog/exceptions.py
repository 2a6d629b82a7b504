from etsy.exceptions import DomainError, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_message = "That listing does not exist or is no longer available."


class CategoryNotFound(NotFound):
    code = "category_not_found"
    default_message = "That category does not exist."


class AlreadyFavorited(DomainError):
    code = "already_favorited"
    default_message = "Already in your favorites."


class OfferingNotFound(DomainError):
    """No offering of this listing matches the choice: an unknown id, an offering or option of another
    listing, a combination that does not exist, or a variation property left unchosen. ``extra``: product_id."""

    code = "offering_not_found"
    status_code = 400
    default_message = "Choose an option for each of this item's choices."


class OfferingUnavailable(DomainError):
    """The chosen offering exists but cannot be bought: the seller switched it off, or it is sold out.
    ``extra``: offering_id, reason ("switched_off" or "sold_out")."""

    code = "offering_unavailable"
    status_code = 400
    default_message = "That choice is not available."


class PersonalizationError(DomainError):
    """The buyer's personalisation text does not fit the listing (subclasses say how)."""

    code = "invalid_personalization"
    status_code = 400


class PersonalizationRequired(PersonalizationError):
    code = "personalization_required"
    default_message = "This item needs your personalisation text."


class PersonalizationTooLong(PersonalizationError):
    """``extra``: max_length, length."""

    code = "personalization_too_long"
    default_message = "Your personalisation text is too long."


class PersonalizationNotAccepted(PersonalizationError):
    code = "personalization_not_accepted"
    default_message = "This item does not take personalisation text."
