"""What the console answers when a request cannot be served: one JSON shape,
`{"error": CODE, "message": ...}`, with the HTTP status each class carries.

WebError
├── BadRequest        400  malformed options or request (Options.Invalid, Request.Invalid)
├── Unauthorized      401  no token, wrong token, expired session (Auth.*)
├── Forbidden         403  a cookie-authenticated change without its CSRF token (Auth.Csrf),
│                          or a route the caller's role may not use (Auth.Forbidden)
├── NotFound          404  no such campaign (Campaign.NotFound)
├── Conflict          409  the campaign is not in a state that allows this (Campaign.WrongState)
├── TooLarge          413  the upload is over DIALER_WEB_MAX_UPLOAD_MB (Upload.TooLarge)
├── Unprocessable     422  an unusable sheet, with the CLI's reason (Sheet.Unusable)
└── Unavailable       503  Redis cannot be reached (Redis.Unavailable)

Library errors become these in `dialer.web.backend` (campaigns) and `dialer.web.people`
(accounts and the audit trail).
"""

from __future__ import annotations


class WebError(Exception):
    status = 500
    code = "Internal"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class BadRequest(WebError):
    status = 400
    code = "Request.Invalid"


class Unauthorized(WebError):
    status = 401
    code = "Auth.Required"


class Forbidden(WebError):
    status = 403
    code = "Auth.Csrf"


class NotFound(WebError):
    status = 404
    code = "Campaign.NotFound"


class Conflict(WebError):
    status = 409
    code = "Campaign.WrongState"


class TooLarge(WebError):
    status = 413
    code = "Upload.TooLarge"


class Unprocessable(WebError):
    status = 422
    code = "Sheet.Unusable"


class Unavailable(WebError):
    status = 503
    code = "Redis.Unavailable"


class PageForbidden(Exception):
    """A page the caller's role may not see: answered with the 403 page."""


class LoginRequired(Exception):
    """A page asked for without a session: answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path
