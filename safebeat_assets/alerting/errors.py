"""The one error type of alert delivery."""


class AlertDeliveryError(RuntimeError):
    """An alert could not be delivered on a channel; the message says where and why."""
