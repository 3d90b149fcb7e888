"""The one error type the engine raises for bad input."""


class SpecError(ValueError):
    """A parameter has a value that is not allowed.

    ``parameter`` names it (as the user spelled it: ``groups``, ``padding``,
    ``stages[1]``, ``preset``), ``value`` is what was given and ``allowed`` says
    what would be accepted.
    """

    def __init__(self, parameter: str, value, allowed: str, hint: str = ""):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.hint = hint
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        message = f"{parameter}={shown} is not allowed: {allowed}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
