"""The one decoding error; its message is safe to show a client."""


class DecodeError(ValueError):
    pass
