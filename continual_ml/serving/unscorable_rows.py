"""The refusal every scorer raises for rows the model cannot answer."""


class UnscorableRows(ValueError):
    """The model gives no finite answer for these rows (a client error: their values)."""
